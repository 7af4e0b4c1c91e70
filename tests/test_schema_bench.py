"""Real-world and conformance schemas: each either compiles and then always yields valid output
(random tiny model, several seeds), or is refused with a typed error. Never an invalid output,
never an untyped exception. A sample of every public JSONSchemaBench split, and every required
group of JSON-Schema-Test-Suite draft 2020-12."""
import json
import random
import signal
import warnings

import jsonschema
import pytest

import constrained
from constrained.backends.tiny import random_backend

from .conftest import shared_data

SPLITS = ["Glaiveai2K", "Github_trivial", "Github_easy", "Github_medium", "Github_hard", "Github_ultra",
          "Kubernetes", "Snowplow", "WashingtonPost", "JsonSchemaStore"]
PER_SPLIT = 3
BUDGET_S = 10       # a compile still running after this is counted as not covered, not as a failure


class _OverBudget(Exception):
    pass


@pytest.fixture(scope="module")
def tiny():
    return random_backend()


def _check(rows: list[dict], backend, seeds: int = 2) -> list[str]:
    """Outcome per schema: "valid", "refused <Error>" or "over budget"; asserts on anything else."""
    fired = []

    def over(signum, frame):
        fired.append(True)
        raise _OverBudget()
    previous = signal.signal(signal.SIGALRM, over)
    outcomes = []
    try:
        for row in rows:
            schema = row["schema"]
            fired.clear()
            signal.alarm(BUDGET_S)
            try:
                g = constrained.Generator(schema, backend, steps=3)
                signal.alarm(0)
            except Exception as exc:
                signal.alarm(0)
                # The budget's exception may surface re-wrapped by the library it interrupted
                # (numpy turns it into a TypeError): once the alarm has fired, it is over budget.
                if fired:
                    outcomes.append("over budget")
                    continue
                if not isinstance(exc, constrained.ConstrainedError):
                    raise
                assert str(exc), f"{row['id']}: a refusal must say why"
                outcomes.append(f"refused {type(exc).__name__}")
                continue
            validator = jsonschema.validators.validator_for(schema)(
                schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for seed in range(seeds):
                    out = g("Fill in the record.", seed=seed, temperature=1.0)
                    assert validator.is_valid(out), f"{row['id']} seed {seed}: invalid output {out!r}"
            outcomes.append("valid")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return outcomes


@pytest.mark.parametrize("split", SPLITS)
def test_jsonschemabench_split_sample(split, tiny):
    rows = [json.loads(line) for line in shared_data("jsonschemabench", f"{split}.jsonl").open()]
    rows = random.Random(f"sample-{split}").sample(rows, min(PER_SPLIT, len(rows)))
    assert len(_check(rows, tiny)) == len(rows) > 0


def test_json_schema_test_suite_2020_12(tiny):
    groups = [json.loads(line) for line in shared_data("json-schema-test-suite", "draft2020-12.jsonl").open()]
    rows = [{"id": f"{g['file']}#{g['group_index']}", "schema": g["schema"]} for g in groups if not g["optional"]]
    outcomes = _check(rows, tiny, seeds=1)
    assert len(outcomes) == len(rows) and outcomes.count("valid") >= 100, "most conformance schemas compile"
