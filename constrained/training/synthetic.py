"""Synthetic extraction examples: random schemas over many domains, documents in many styles.

Each domain is a pool of fields; an example draws some of them (renaming keys, dropping
optional ones from the document), fills values with Faker, writes a document in one of
several styles and keeps the answer. Values are written in varied surface forms (dates in
several written forms, money with symbols and separators, booleans stated indirectly) and
the answer holds their normalised form where the schema asks for one (``format: date``,
numbers, booleans, enums), the text as written otherwise. Some domains and styles are kept
out of training (``HELD_OUT_DOMAINS``/``HELD_OUT_STYLES``) to measure generalisation.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any, Callable

from faker import Faker

from .examples import Example

Maker = Callable[[Faker, random.Random], tuple[Any, str]]   # -> (answer value, text in the document)


@dataclass(frozen=True)
class FieldSpec:
    keys: tuple[str, ...]          # JSON key variants
    labels: tuple[str, ...]        # how documents name the field
    schema: dict                   # JSON Schema of the value (description added per example)
    make: Maker
    description: str = ""


# ---- value makers ---------------------------------------------------------------------------

def text(fn: Callable[[Faker], str]) -> Maker:
    return lambda f, r: (v := fn(f), v)


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%B %d, %Y", "%d %B %Y", "%d %b %Y", "%b %d, %Y",
                "%d.%m.%Y", "%A, %B %d, %Y")


def iso_date(f: Faker, r: random.Random):
    d = f.date_between(dt.date(2015, 1, 1), dt.date(2027, 12, 31))
    return d.isoformat(), d.strftime(r.choice(DATE_FORMATS))


def date_as_written(f: Faker, r: random.Random):
    _, written = iso_date(f, r)
    return written, written


def money(lo: float, hi: float) -> Maker:
    def make(f: Faker, r: random.Random):
        v = round(r.uniform(lo, hi), 2)
        style = r.randrange(5)
        shown = [f"${v:,.2f}", f"{v:.2f} USD", f"EUR {v:,.2f}", f"{v:.2f}", f"RM {v:.2f}"][style]
        return v, shown
    return make


def integer(lo: int, hi: int, unit: str = "") -> Maker:
    def make(f: Faker, r: random.Random):
        v = r.randint(lo, hi)
        return v, f"{v}{unit}" if r.random() < 0.7 or v > 12 else f"{NUMBER_WORDS[v]}{unit}"
    return make


NUMBER_WORDS = "zero one two three four five six seven eight nine ten eleven twelve".split()


def boolean(yes: tuple[str, ...], no: tuple[str, ...]) -> Maker:
    def make(f: Faker, r: random.Random):
        v = r.random() < 0.5
        return v, r.choice(yes if v else no)
    return make


def choice(options: tuple[str, ...]) -> Maker:
    def make(f: Faker, r: random.Random):
        v = r.choice(options)
        shown = r.choice([v, v.upper(), v.capitalize(), v.replace("_", " ")])
        return v, shown
    return make


def several(fn: Callable[[Faker], str], lo: int = 1, hi: int = 4) -> Maker:
    def make(f: Faker, r: random.Random):
        items = list(dict.fromkeys(fn(f) for _ in range(r.randint(lo, hi))))
        if len(items) == 1:
            shown = items[0]
        else:
            shown = r.choice([", ".join(items[:-1]) + " and " + items[-1], ", ".join(items), "; ".join(items)])
        return items, shown
    return make


STR = {"type": "string"}
DATE = {"type": "string", "format": "date"}
NUM = {"type": "number"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}


def enum(*options: str) -> dict:
    return {"type": "string", "enum": list(options)}


def str_list() -> dict:
    return {"type": "array", "items": {"type": "string"}}


F = FieldSpec
PERSON = F(("name", "full_name", "customer_name"), ("Name", "Customer", "Full name"), STR, text(lambda f: f.name()))
EMAIL = F(("email", "email_address", "contact_email"), ("Email", "E-mail", "Contact"), STR, text(lambda f: f.email()))
PHONE = F(("phone", "phone_number", "telephone"), ("Phone", "Tel", "Mobile"), STR, text(lambda f: f.phone_number()))
ADDRESS = F(("address", "street_address", "location"), ("Address", "Located at", "Addr"), STR,
            text(lambda f: f.address().replace("\n", ", ")))
COMPANY = F(("company", "vendor", "organization"), ("Company", "Vendor", "From"), STR, text(lambda f: f.company()))

DOMAINS: dict[str, list[FieldSpec]] = {
    "invoice": [
        F(("invoice_number", "invoice_id", "number"), ("Invoice No", "Invoice #", "Ref"), STR,
          text(lambda f: f"INV-{f.random_int(100, 99999)}")),
        COMPANY, PERSON,
        F(("invoice_date", "date", "issued_on"), ("Date", "Issued", "Invoice date"), DATE, iso_date,
          "ISO date YYYY-MM-DD"),
        F(("total", "amount_due", "total_amount"), ("Total", "Amount due", "Balance"), NUM, money(5, 20000)),
        F(("paid", "is_paid"), ("Status", "Payment"), BOOL, boolean(("paid", "settled", "received in full"),
                                                                    ("unpaid", "outstanding", "not yet paid"))),
        F(("currency",), ("Currency",), enum("USD", "EUR", "GBP", "MYR"), choice(("USD", "EUR", "GBP", "MYR"))),
    ],
    "contact": [PERSON, EMAIL, PHONE, ADDRESS,
                F(("job_title", "title", "role"), ("Title", "Position", "Role"), STR, text(lambda f: f.job())),
                COMPANY],
    "job_posting": [
        F(("title", "position", "job_title"), ("Position", "Role", "We are hiring"), STR, text(lambda f: f.job())),
        COMPANY,
        F(("city", "location"), ("Location", "City", "Based in"), STR, text(lambda f: f.city())),
        F(("salary", "annual_salary"), ("Salary", "Pay", "Compensation"), INT, integer(30000, 250000)),
        F(("remote", "is_remote"), ("Remote", "Work mode"), BOOL, boolean(("fully remote", "remote OK", "yes"),
                                                                         ("on-site only", "in office", "no"))),
        F(("skills", "requirements"), ("Skills", "Requirements"), str_list(),
          several(lambda f: f.random_element(("Python", "SQL", "Excel", "Java", "Go", "AWS", "Docker",
                                              "communication", "leadership", "React")))),
        F(("employment_type", "type"), ("Type", "Contract"), enum("full_time", "part_time", "contract"),
          choice(("full_time", "part_time", "contract"))),
    ],
    "event": [
        F(("event_name", "name", "title"), ("Event", "Title", "What"), STR,
          text(lambda f: f"{f.catch_phrase()} {f.random_element(('Summit', 'Meetup', 'Gala', 'Workshop'))}")),
        F(("date", "event_date", "starts_on"), ("Date", "When", "On"), DATE, iso_date, "ISO date YYYY-MM-DD"),
        F(("venue", "location"), ("Venue", "Where", "Location"), STR, text(lambda f: f"{f.company()} Hall")),
        F(("organizer", "host"), ("Organizer", "Hosted by", "Contact"), STR, text(lambda f: f.name())),
        F(("capacity", "max_attendees"), ("Capacity", "Seats"), INT, integer(10, 5000)),
        F(("free", "is_free"), ("Admission", "Tickets"), BOOL, boolean(("free", "no charge", "free entry"),
                                                                      ("paid", "tickets required", "$25 entry"))),
    ],
    "order": [
        F(("order_id", "order_number"), ("Order", "Order #", "Order number"), STR,
          text(lambda f: f"{f.random_uppercase_letter()}{f.random_int(10000, 9999999)}")),
        PERSON,
        F(("items", "products"), ("Items", "Products", "You ordered"), str_list(),
          several(lambda f: f.random_element(("USB cable", "desk lamp", "notebook", "coffee mug", "headphones",
                                              "phone case", "backpack", "water bottle", "keyboard")))),
        F(("quantity", "item_count"), ("Qty", "Quantity", "Items count"), INT, integer(1, 12)),
        F(("status",), ("Status", "Order status"), enum("pending", "shipped", "delivered", "cancelled"),
          choice(("pending", "shipped", "delivered", "cancelled"))),
        F(("order_date", "date"), ("Ordered on", "Date"), DATE, iso_date, "ISO date YYYY-MM-DD"),
        ADDRESS,
    ],
    "patient": [
        PERSON,
        F(("date_of_birth", "dob", "birth_date"), ("DOB", "Date of birth", "Born"), DATE, iso_date,
          "ISO date YYYY-MM-DD"),
        F(("age",), ("Age",), INT, integer(1, 99, " years")),
        F(("blood_type",), ("Blood type", "Blood group"), enum("A+", "A-", "B+", "B-", "O+", "O-", "AB+", "AB-"),
          choice(("A+", "A-", "B+", "B-", "O+", "O-", "AB+", "AB-"))),
        F(("allergies",), ("Allergies", "Allergic to"), str_list(),
          several(lambda f: f.random_element(("penicillin", "peanuts", "latex", "pollen", "shellfish", "aspirin")))),
        F(("insured", "has_insurance"), ("Insurance", "Coverage"), BOOL,
          boolean(("insured", "covered by plan", "yes"), ("uninsured", "self-pay", "none"))),
        PHONE,
    ],
    "real_estate": [
        ADDRESS,
        F(("price", "asking_price"), ("Price", "Asking", "Listed at"), NUM, money(50000, 3000000)),
        F(("bedrooms", "beds"), ("Bedrooms", "Beds"), INT, integer(0, 8)),
        F(("bathrooms", "baths"), ("Bathrooms", "Baths"), INT, integer(1, 5)),
        F(("agent", "listing_agent"), ("Agent", "Contact", "Listed by"), STR, text(lambda f: f.name())),
        F(("property_type", "type"), ("Type", "Property"), enum("house", "apartment", "condo", "townhouse"),
          choice(("house", "apartment", "condo", "townhouse"))),
        F(("has_garage", "garage"), ("Garage", "Parking"), BOOL, boolean(("garage", "2-car garage", "yes"),
                                                                          ("street parking only", "none", "no"))),
    ],
    "flight": [
        PERSON,
        F(("flight_number", "flight"), ("Flight", "Flight no"), STR,
          text(lambda f: f"{f.random_element(('BA', 'LH', 'AF', 'UA', 'MH', 'SQ'))}{f.random_int(10, 2999)}")),
        F(("origin", "from_city", "departure_city"), ("From", "Departing", "Origin"), STR, text(lambda f: f.city())),
        F(("destination", "to_city"), ("To", "Arriving", "Destination"), STR, text(lambda f: f.city())),
        F(("departure_date", "date"), ("Date", "Departure"), DATE, iso_date, "ISO date YYYY-MM-DD"),
        F(("seat",), ("Seat",), STR, text(lambda f: f"{f.random_int(1, 45)}{f.random_element('ABCDEF')}")),
        F(("cabin", "class"), ("Class", "Cabin"), enum("economy", "business", "first"),
          choice(("economy", "business", "first"))),
    ],
    "bank_transaction": [
        F(("transaction_id", "reference"), ("Ref", "Transaction ID", "Reference"), STR,
          text(lambda f: f.bothify("TX-####-????").upper())),
        F(("amount",), ("Amount", "Sum"), NUM, money(1, 50000)),
        F(("date", "value_date"), ("Date", "Value date", "Booked"), DATE, iso_date, "ISO date YYYY-MM-DD"),
        F(("payee", "recipient", "beneficiary"), ("Payee", "To", "Beneficiary"), STR, text(lambda f: f.company())),
        F(("iban", "account"), ("IBAN", "Account"), STR, text(lambda f: f.iban())),
        F(("direction", "kind"), ("Type", "Direction"), enum("credit", "debit"), choice(("credit", "debit"))),
    ],
    "hotel": [
        PERSON,
        F(("hotel", "hotel_name", "property"), ("Hotel", "Property", "Staying at"), STR,
          text(lambda f: f"{f.last_name()} {f.random_element(('Hotel', 'Inn', 'Suites', 'Resort'))}")),
        F(("check_in", "arrival_date"), ("Check-in", "Arrival"), DATE, iso_date, "ISO date YYYY-MM-DD"),
        F(("nights",), ("Nights", "Length of stay"), INT, integer(1, 21, " nights")),
        F(("room_type", "room"), ("Room", "Room type"), enum("single", "double", "suite"),
          choice(("single", "double", "suite"))),
        F(("breakfast_included", "breakfast"), ("Breakfast", "Board"), BOOL,
          boolean(("breakfast included", "B&B", "yes"), ("room only", "no breakfast", "not included"))),
        F(("total_price", "price"), ("Total", "Price"), NUM, money(50, 9000)),
    ],
    "product_review": [
        F(("product", "product_name"), ("Product", "Item", "Reviewed"), STR,
          text(lambda f: f"{f.color_name()} {f.random_element(('blender', 'drill', 'lamp', 'kettle', 'speaker'))}")),
        F(("reviewer", "author"), ("By", "Reviewer", "Author"), STR, text(lambda f: f.user_name())),
        F(("rating", "stars"), ("Rating", "Stars"), INT, integer(1, 5, "/5")),
        F(("recommend", "would_recommend"), ("Recommend", "Verdict"), BOOL,
          boolean(("would recommend", "buy it", "yes"), ("would not recommend", "avoid", "no"))),
        F(("review_date", "date"), ("Posted", "Date"), DATE, iso_date, "ISO date YYYY-MM-DD"),
        F(("pros",), ("Pros", "Liked"), str_list(),
          several(lambda f: f.random_element(("quiet", "cheap", "sturdy", "fast", "easy to clean", "compact")))),
    ],
    "shipment": [
        F(("tracking_number", "tracking"), ("Tracking", "Tracking no", "AWB"), STR,
          text(lambda f: f.bothify("1Z###??########").upper())),
        F(("carrier",), ("Carrier", "Shipped via"), enum("UPS", "FedEx", "DHL", "USPS"),
          choice(("UPS", "FedEx", "DHL", "USPS"))),
        F(("recipient", "ship_to"), ("Ship to", "Recipient", "Deliver to"), STR, text(lambda f: f.name())),
        ADDRESS,
        F(("weight_kg", "weight"), ("Weight", "Gross weight"), NUM,
          lambda f, r: (v := round(r.uniform(0.1, 80), 1), f"{v} kg")),
        F(("delivered",), ("Delivered", "Status"), BOOL, boolean(("delivered", "signed for", "yes"),
                                                                ("in transit", "awaiting pickup", "no"))),
        F(("ship_date", "shipped_on"), ("Shipped", "Ship date"), DATE, iso_date, "ISO date YYYY-MM-DD"),
    ],
    "subscription": [
        PERSON, EMAIL,
        F(("plan",), ("Plan", "Tier"), enum("free", "basic", "pro", "enterprise"),
          choice(("free", "basic", "pro", "enterprise"))),
        F(("monthly_price", "price"), ("Price", "Monthly fee"), NUM, money(0, 500)),
        F(("start_date", "since"), ("Since", "Started", "Start date"), DATE, iso_date, "ISO date YYYY-MM-DD"),
        F(("auto_renew", "renews"), ("Renewal", "Auto-renew"), BOOL,
          boolean(("renews automatically", "auto-renew on", "yes"), ("cancelled at period end", "off", "no"))),
        F(("seats", "users"), ("Seats", "Users"), INT, integer(1, 500)),
    ],
}
HELD_OUT_DOMAINS = ("hotel", "shipment", "subscription")
STYLES = ("lines", "prose", "email", "receipt", "table", "form")
HELD_OUT_STYLES = ("form",)


# ---- documents ------------------------------------------------------------------------------

def _document(style: str, title: str, shown: list[tuple[str, str]], f: Faker, r: random.Random) -> str:
    noise = [f.sentence() for _ in range(r.randint(0, 3))]
    if style == "lines":
        body = [f"{label}: {value}" for label, value in shown]
        return "\n".join([title.upper(), *body, *noise])
    if style == "prose":
        body = [r.choice(["The {l} is {v}.", "{l}: {v}.", "As for {l}, {v}.", "Please note {l} {v}."])
                .format(l=label.lower(), v=value) for label, value in shown]
        parts = body + noise
        r.shuffle(parts)
        return " ".join(parts)
    if style == "email":
        body = [f"- {label}: {value}" for label, value in shown]
        return "\n".join([f"Subject: {title}", f"Hi {f.first_name()},", "", "Here are the details:", *body,
                          *noise, "", "Regards,", f.name()])
    if style == "receipt":
        body = [f"{label.upper()}  {value}" for label, value in shown]
        return "\n".join([f.company().upper(), f.street_address().upper(), *body, "THANK YOU"])
    if style == "table":
        body = [f"| {label} | {value} |" for label, value in shown]
        return "\n".join([f"## {title}", "| Field | Value |", "|---|---|", *body, *noise])
    if style == "form":
        body = [f"[{label}] ........ {value}" for label, value in shown]
        return "\n".join([f"FORM: {title}", *body, f"Signed: {f.name()}"])
    raise ValueError(style)


def _case(key: str, r: random.Random) -> str:
    if r.random() < 0.3:
        head, *rest = key.split("_")
        return head + "".join(w.capitalize() for w in rest)
    return key


def example(r: random.Random, f: Faker, domains=None, styles=None) -> Example:
    """One synthetic example from the given domains and styles (defaults: the training ones)."""
    domain = r.choice(domains or [d for d in DOMAINS if d not in HELD_OUT_DOMAINS])
    style = r.choice(styles or [s for s in STYLES if s not in HELD_OUT_STYLES])
    pool = DOMAINS[domain]
    fields = r.sample(pool, r.randint(min(3, len(pool)), len(pool)))
    properties, required, answer, shown = {}, [], {}, []
    for spec in fields:
        key = _case(r.choice(spec.keys), r)
        if key in properties:
            continue
        value, surface = spec.make(f, r)
        sub = dict(spec.schema)
        if spec.description and r.random() < 0.7:
            sub["description"] = spec.description
        optional = r.random() < 0.3
        present = not optional or r.random() < 0.6
        if optional:
            sub = {"anyOf": [sub, {"type": "null"}], "default": None} if r.random() < 0.5 else sub
        else:
            required.append(key)
        properties[key] = sub
        if present:
            answer[key] = value
            shown.append((r.choice(spec.labels), surface))
        elif "anyOf" in sub:
            answer[key] = None
    r.shuffle(shown)
    schema = {"type": "object", "properties": properties, "required": required}
    title = domain.replace("_", " ").title()
    return Example(schema, _document(style, title, shown, f, r), answer, f"synthetic/{domain}/{style}")


def examples(n: int, seed: int, domains=None, styles=None) -> list[Example]:
    r = random.Random(seed)
    f = Faker()
    f.seed_instance(seed)
    return [example(r, f, domains, styles) for _ in range(n)]
