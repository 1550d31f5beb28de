"""The AWS deployment on paper (``deploy/aws/mytrader-paper.yaml``): ``cfn-lint`` passes it, and
read with CloudFormation's own tags it is closed by default (no inbound from anywhere, a private
encrypted bucket), its role grants nothing beyond the configured models, Comprehend sentiment
and one S3 prefix, and its user data runs the README's ``make run``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO_ROOT

TEMPLATE = REPO_ROOT / "deploy" / "aws" / "mytrader-paper.yaml"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
NO_VALUE = object()  # what {"Ref": "AWS::NoValue"} resolves to: the item disappears
COMPREHEND_ACTION = "comprehend:BatchDetectSentiment"


def load() -> dict[str, Any]:
    # imported here, not at the top: cfn-lint takes ~1 s to import, and every xdist worker
    # imports every test module while collecting, also those the other worker runs
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(TEMPLATE))


def parameters(template: dict, **overrides: str) -> dict[str, str]:
    """Parameter values as CloudFormation would take them: defaults, then ``overrides``."""
    values = {name: str(spec["Default"]) for name, spec in template["Parameters"].items()
              if "Default" in spec}
    values.setdefault("RepoUrl", "https://example.invalid/mytrader.git")
    return {**values, **overrides}


def condition_value(expr: Any, params: dict[str, str], conditions: dict[str, Any]) -> Any:
    """Evaluate a condition expression (Equals, Not, And, Or, Condition, Ref)."""
    if isinstance(expr, dict) and len(expr) == 1:
        (key, arg), = expr.items()
        if key == "Ref":
            return params[arg]
        if key == "Condition":
            return condition_value(conditions[arg], params, conditions)
        if key == "Fn::Equals":
            left, right = (condition_value(a, params, conditions) for a in arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not condition_value(arg[0], params, conditions)
        if key == "Fn::And":
            return all(condition_value(a, params, conditions) for a in arg)
        if key == "Fn::Or":
            return any(condition_value(a, params, conditions) for a in arg)
    return expr


def resolve(node: Any, params: dict[str, str], conditions: dict[str, Any]) -> Any:
    """``node`` with every Fn::If decided and parameter Refs replaced; NoValue items dropped."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            chosen = yes if condition_value(conditions[name], params, conditions) else no
            return resolve(chosen, params, conditions)
        if set(node) == {"Ref"}:
            ref = node["Ref"]
            return NO_VALUE if ref == "AWS::NoValue" else params.get(ref, node)
        out = {k: resolve(v, params, conditions) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}
    if isinstance(node, list):
        items = [resolve(v, params, conditions) for v in node]
        return [v for v in items if v is not NO_VALUE]
    return node


def resolved(template: dict, **overrides: str) -> dict[str, Any]:
    """The Resources section as deployed with the default parameters (plus ``overrides``)."""
    return resolve(template["Resources"], parameters(template, **overrides),
                   template.get("Conditions", {}))


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def allow_statements(resources: dict) -> list[dict]:
    """Every Allow statement of every IAM or bucket policy in the template."""
    found = []
    for resource in resources.values():
        props = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        if "PolicyDocument" in props:
            documents.append(props["PolicyDocument"])
        for document in documents:
            found += [s for s in as_list(document["Statement"]) if s["Effect"] == "Allow"]
    return found


def ingress_rules(resources: dict) -> list[dict]:
    rules = []
    for resource in resources.values():
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            rules += resource["Properties"].get("SecurityGroupIngress", [])
        if resource["Type"] == "AWS::EC2::SecurityGroupIngress":
            rules.append(resource["Properties"])
    return rules


def user_data(template: dict) -> str:
    props = template["Resources"]["Host"]["Properties"]
    sub = props["UserData"]["Fn::Base64"]["Fn::Sub"]
    return sub if isinstance(sub, str) else sub[0]


@pytest.mark.integration
def test_cfn_lint_passes_the_template():
    assert CFN_LINT.is_file(), f"{CFN_LINT} is missing: install requirements-dev.txt"
    done = subprocess.run([str(CFN_LINT), str(TEMPLATE)], capture_output=True, text=True,
                          timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


@pytest.mark.unit
def test_no_allow_statement_grants_everything():
    resources = resolved(load(), BedrockSecondModelId="us.anthropic.claude-sonnet-4-6",
                         BedrockSecondFoundationModelId="anthropic.claude-sonnet-4-6",
                         DashboardCidr="203.0.113.7/32",
                         DashboardPasswordParameter="/mytrader/dashboard-password")
    statements = allow_statements(resources)
    assert len(statements) >= 5
    for statement in statements:
        actions = as_list(statement["Action"])
        assert all(a != "*" and not a.endswith(":*") for a in actions), statement
        if "*" in as_list(statement["Resource"]):
            # Comprehend's sentiment actions support no resource ARN: the one exception,
            # narrowed to a region instead.
            assert actions == [COMPREHEND_ACTION], statement
            assert "aws:RequestedRegion" in statement["Condition"]["StringEquals"]
    assert [s for s in statements if COMPREHEND_ACTION in as_list(s["Action"])]


@pytest.mark.unit
def test_bedrock_is_granted_on_the_configured_models_only():
    template = load()
    for extra in ({}, {"BedrockSecondModelId": "global.anthropic.claude-sonnet-4-6",
                       "BedrockSecondFoundationModelId": "anthropic.claude-sonnet-4-6"}):
        statements = allow_statements(resolved(template, **extra))
        bedrock = [s for s in statements
                   if any(a.startswith("bedrock:") for a in as_list(s["Action"]))]
        assert len(bedrock) == 1
        # Converse is authorised by bedrock:InvokeModel (there is no bedrock:Converse action).
        assert as_list(bedrock[0]["Action"]) == ["bedrock:InvokeModel"]
        arns = [r["Fn::Sub"] for r in as_list(bedrock[0]["Resource"])]
        assert len(arns) == (6 if extra else 3)
        for arn in arns:
            assert re.search(r"(inference-profile|foundation-model)/\$\{Bedrock\w*ModelId\}$",
                             arn), arn
        assert any(a.endswith("inference-profile/${BedrockModelId}") for a in arns)
        assert any(a.endswith("foundation-model/${BedrockFoundationModelId}") for a in arns)


@pytest.mark.unit
def test_s3_access_is_the_bucket_prefix_only():
    statements = allow_statements(resolved(load()))
    s3 = [s for s in statements if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    actions = sorted(a for s in s3 for a in as_list(s["Action"]))
    assert actions == ["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListBucket",
                       "s3:PutObject"]
    for statement in s3:
        if statement["Action"] == "s3:ListBucket":
            prefixes = statement["Condition"]["StringLike"]["s3:prefix"]
            assert prefixes == ["mytrader", {"Fn::Sub": "${S3Prefix}/*"}]
        else:
            assert statement["Resource"] == {"Fn::Sub": "${Bucket.Arn}/${S3Prefix}/*"}


@pytest.mark.unit
def test_ssm_is_the_only_managed_policy():
    role = resolved(load())["HostRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"}


@pytest.mark.unit
def test_the_bucket_is_private_encrypted_versioned_and_expires_old_backups():
    template = load()
    bucket = resolved(template)["Bucket"]
    props = bucket["Properties"]
    assert "BucketName" not in props  # empty parameter: CloudFormation names it
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    block = props["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                     "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    backups = [r for r in props["LifecycleConfiguration"]["Rules"]
               if r["Prefix"] == {"Fn::Sub": "${S3Prefix}/backups/"}]
    assert backups and backups[0]["ExpirationInDays"] == parameters(template)[
        "BackupRetentionDays"]
    assert bucket["DeletionPolicy"] == "Retain"
    policy = resolved(template)["BucketPolicy"]["Properties"]["PolicyDocument"]
    denies = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert denies and denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert resolved(template, BucketName="my-bucket")["Bucket"]["Properties"][
        "BucketName"] == "my-bucket"


@pytest.mark.unit
def test_no_inbound_by_default_and_only_the_given_cidrs_otherwise():
    template = load()
    for name in ("SshCidr", "DashboardCidr", "KeyPairName"):
        assert template["Parameters"][name]["Default"] == ""
    assert ingress_rules(resolved(template)) == []
    opened = ingress_rules(resolved(template, SshCidr="198.51.100.4/32",
                                    DashboardCidr="203.0.113.7/32",
                                    DashboardPasswordParameter="/mytrader/pw"))
    assert sorted((r["FromPort"], r["CidrIp"]) for r in opened) == [
        (22, "198.51.100.4/32"), (8501, "203.0.113.7/32")]
    for rule in opened:
        assert "CidrIpv6" not in rule
    for spec in template["Parameters"].values():
        assert "0.0.0.0/0" not in str(spec.get("Default", ""))


@pytest.mark.unit
def test_rules_refuse_the_whole_internet_and_a_dashboard_without_password():
    template = load()
    conditions = template.get("Conditions", {})

    def refused(**overrides: str) -> list[str]:
        params = parameters(template, **overrides)
        failed = []
        for rule in template["Rules"].values():
            applies = condition_value(rule.get("RuleCondition", True), params, conditions)
            for check in rule["Assertions"] if applies else []:
                if not condition_value(check["Assert"], params, conditions):
                    failed.append(check["AssertDescription"])
        return failed

    assert refused() == []
    assert refused(SshCidr="198.51.100.4/32") == []
    assert any("0.0.0.0/0" in m for m in refused(SshCidr="0.0.0.0/0"))
    assert any("0.0.0.0/0" in m for m in refused(
        DashboardCidr="0.0.0.0/0", DashboardPasswordParameter="/mytrader/pw"))
    assert any("DashboardPasswordParameter" in m for m in refused(DashboardCidr="203.0.113.7/32"))


@pytest.mark.unit
def test_the_host_requires_imdsv2_and_an_encrypted_volume():
    props = resolved(load())["Host"]["Properties"]
    assert props["MetadataOptions"]["HttpTokens"] == "required"
    assert all(m["Ebs"]["Encrypted"] is True for m in props["BlockDeviceMappings"])
    assert "KeyName" not in props  # no key pair by default: SSM Session Manager instead


@pytest.mark.unit
def test_user_data_installs_the_tools_and_runs_make_run():
    script = user_data(load())
    assert script.startswith("#!/bin/bash\n")
    install = next(line for line in script.splitlines() if line.startswith("dnf install"))
    for package in ("git", "make", "python3"):
        assert re.search(rf"\b{package}", install), install
    assert "ExecStart=/usr/bin/make run" in script and "ExecStop=/usr/bin/make stop" in script
    assert "systemctl enable --now mytrader.service" in script
    assert "cfn-signal -e 0" in script


@pytest.mark.integration
def test_user_data_is_valid_bash(tmp_path):
    script = user_data(load())
    # The script is valid bash once CloudFormation has substituted its ${...} variables.
    filled = re.sub(r"\$\{[A-Za-z0-9:.]+\}", "x", script)
    path = tmp_path / "user-data.sh"
    path.write_text(filled, encoding="utf-8")
    done = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
