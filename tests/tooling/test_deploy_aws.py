"""deploy/aws: the SAM template passes cfn-lint and wires what the Lambda worker needs."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

pytestmark = pytest.mark.tooling

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "aws"
TEMPLATE = DEPLOY / "template.yaml"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    decoded, errors = decode(str(TEMPLATE))
    assert not errors
    assert decoded is not None
    return dict(decoded)


def test_template_passes_cfn_lint() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_handler_named_by_the_template_exists(template: dict[str, Any]) -> None:
    function = template["Resources"]["VerifierFunction"]["Properties"]
    module_name, _, attribute = function["Handler"].rpartition(".")
    assert callable(getattr(importlib.import_module(module_name), attribute))


def test_event_source_reports_partial_batch_failures(template: dict[str, Any]) -> None:
    events = template["Resources"]["VerifierFunction"]["Properties"]["Events"]
    source = events["Uploads"]["Properties"]
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert {"BatchSize", "MaximumBatchingWindowInSeconds"} <= set(source)


def test_dead_letter_queue_outlives_the_source_queue(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    source = resources["EventQueue"]["Properties"]
    dead = resources["DeadLetterQueue"]["Properties"]
    assert dead["MessageRetentionPeriod"] > source["MessageRetentionPeriod"]
    assert "deadLetterTargetArn" in source["RedrivePolicy"]


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["Statement"])


@pytest.mark.parametrize("name", ["api-policy.json", "worker-policy.json"])
def test_policies_grant_no_wildcard_actions_or_resources(name: str) -> None:
    for statement in _statements(json.loads((DEPLOY / name).read_text())):
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        assert all("*" not in action for action in actions)
        assert all(resource != "*" for resource in resources)


def test_lambda_role_grants_no_wildcard_actions(template: dict[str, Any]) -> None:
    role = template["Resources"]["VerifierRole"]["Properties"]
    for policy in role["Policies"]:
        for statement in _statements(policy["PolicyDocument"]):
            actions = statement["Action"]
            actions = actions if isinstance(actions, list) else [actions]
            assert all("*" not in action for action in actions)
