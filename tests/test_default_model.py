"""The embedded default model: loads offline from the installed package plus the shipped
adapter, and extracts a handful of fixed documents (written for this test) correctly."""
import os
from datetime import date

import pytest
import torch
from pydantic import BaseModel

import constrained
from constrained.embedded_model import ADAPTER_DIR
from constrained.training.receipts import Receipt


class Contact(BaseModel):
    name: str
    email: str
    phone: str


class Booking(BaseModel):
    guest_name: str
    check_in: date
    nights: int
    breakfast_included: bool


DOCUMENTS = [
    (Receipt, "KEDAI RUNCIT MAJU JAYA\nNO. 8, JALAN PERDANA 2, TAMAN MELATI, 53100 KUALA LUMPUR\n"
              "TEL: 03-4021 7788\nDATE: 14/06/2018  10:42 AM\nMILO 1KG        1   17.90\n"
              "GARDENIA BREAD  2    5.60\nTOTAL          23.50\nCASH           50.00\nCHANGE         26.50\n"
              "THANK YOU PLEASE COME AGAIN",
     {"company": "KEDAI RUNCIT MAJU JAYA", "date": "14/06/2018", "total": "23.50"}),
    pytest.param(
        Contact, "Hi team,\nplease add our new supplier contact: Maria Gonzalez, maria.gonzalez@brightway.io, "
        "phone +1 415 555 0199.\nThanks, Tom",
        {"name": "Maria Gonzalez", "email": "maria.gonzalez@brightway.io", "phone": "+1 415 555 0199"},
        marks=pytest.mark.xfail(strict=True, reason="the email comes out as another stretch of the document: "
                                "read over its 26 positions, a short stretch's padding outscores the long email "
                                "the model starts right (see the closing note of stop 19)")),
    (Booking, "Reservation confirmed for David Chen. Arrival: March 9, 2025, staying 3 nights in a double "
              "room. Breakfast is included in the rate.",
     {"guest_name": "David Chen", "check_in": date(2025, 3, 9), "nights": 3, "breakfast_included": True}),
]


@pytest.fixture(scope="module")
def default():
    if not (ADAPTER_DIR / "adapter_config.json").exists():
        pytest.fail(f"the default model's adapter is missing from {ADAPTER_DIR}")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    return constrained.default_model()


def test_loads_offline_as_the_default(default, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert constrained.default_model() is default
    assert default.vocab.size == 49152 and default.block_length is None
    assert isinstance(constrained.generate(Booking, DOCUMENTS[2][1], steps=4), Booking)


@pytest.mark.parametrize("spec, document, expected", DOCUMENTS, ids=["receipt", "contact", "booking"])
def test_extracts_fixed_documents(default, spec, document, expected):
    out = constrained.generate(spec, document, steps=8)
    got = {k: getattr(out, k) for k in expected}
    norm = lambda v: " ".join(v.lower().split()) if isinstance(v, str) else v  # noqa: E731
    assert {k: norm(v) for k, v in got.items()} == {k: norm(v) for k, v in expected.items()}
