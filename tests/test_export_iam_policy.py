"""The IAM policy export, checked against every call the engine really makes."""

from __future__ import annotations

import json

import botocore.session
import pytest

from vpc_mirror.models.plan import SensorPlan
from vpc_mirror.steps.exports import iam_policy
from tests.awsfacts import Recorder, demo_plan, ec2, run
from tests.exporting import planned
from tests.scale_answers import gwlb_plan, more_sources, nlb_plan, users_gwlb_endpoint, users_nlb
from tests.test_apply import CREATE_ANSWERS
from vpc_mirror.tui.cli import status_document

_MODELS = botocore.session.get_session()
#: Whose each recorded call is: EC2's unless another service has it (DescribeTags: apply reads the tags of load
#: balancers and target groups, never EC2's, which come with each Describe*).
SERVICE = {"GetCallerIdentity": "sts", "GetParameter": "ssm", "DescribeTags": "elasticloadbalancing",
           **{op: "elasticloadbalancing" for op in set(_MODELS.get_service_model("elbv2").operation_names)
              - set(_MODELS.get_service_model("ec2").operation_names)}}


def _allowed(policy: dict) -> set[str]:
    return {action for s in policy["Statement"] if s["Effect"] == "Allow" for action in s["Action"]}


def _no_empty_statement(policy: dict) -> None:
    """IAM rejects a statement with no action (MalformedPolicyDocument)."""
    assert all(s["Action"] and s["Resource"] for s in policy["Statement"]), policy


#: name -> plan of the sandbox (the user's own load balancer made first where the plan reuses one)
PLANS = {"demo": lambda sandbox: demo_plan(),
         "created-vpc-dedicated-enis": lambda sandbox: demo_plan(**CREATE_ANSWERS),
         "gwlb-cross-zone": lambda sandbox: gwlb_plan(cross_zone=True),
         "reused-nlb": lambda sandbox: nlb_plan(load_balancer_arn=users_nlb(sandbox)),
         "reused-gwlb-endpoint": lambda sandbox: gwlb_plan(gwlb_endpoint_id=users_gwlb_endpoint(sandbox))}


@pytest.mark.parametrize("plan", PLANS.values(), ids=PLANS.keys())
def test_policy_allows_exactly_what_apply_status_and_teardown_call(sandbox, state_dir, plan):
    plan = plan(sandbox)
    ctx, actions = planned(sandbox, plan)
    policy = json.loads(iam_policy.render(ctx, actions))
    _no_empty_statement(policy)
    recorder = Recorder()
    ctx = run(sandbox, state_dir, plan=plan, recorder=recorder)
    status_document(ctx.state)  # status reads the state file only
    run(sandbox, state_dir, plan=plan, recorder=recorder, teardown=True)
    called = {f"{SERVICE.get(op, 'ec2')}:{op}" for op in recorder.calls}
    # CreateTags and AddTags are never called: they are the permissions AWS checks for tags given at creation.
    assert _allowed(policy) - {"ec2:CreateTags", "elasticloadbalancing:AddTags"} == called


def test_with_selected_sources_the_policy_also_allows_exactly_what_sync_calls(sandbox, state_dir):
    """A sync that mirrors a new instance and then drops it (retagged) deletes its session and revokes the rule
    only it needed."""
    from tests.test_sync import SELECT_PROD, launch, retag, sync

    ctx, actions = planned(sandbox, SELECT_PROD)
    policy = json.loads(iam_policy.render(ctx, actions))
    recorder = Recorder()
    run(sandbox, state_dir, plan=SELECT_PROD, recorder=recorder)
    new = launch(sandbox, 1, "m5.large")
    assert sync(sandbox, state_dir, recorder=recorder).changed
    retag(sandbox, new, "dev")
    assert sync(sandbox, state_dir, recorder=recorder).changed
    run(sandbox, state_dir, plan=SELECT_PROD, recorder=recorder, teardown=True)
    called = {f"{SERVICE.get(op, 'ec2')}:{op}" for op in recorder.calls}
    assert "ec2:RevokeSecurityGroupIngress" in called
    assert _allowed(policy) - {"ec2:CreateTags", "elasticloadbalancing:AddTags"} == called


def test_deletes_need_the_setup_tag_and_tags_only_go_on_at_creation(sandbox):
    ctx, actions = planned(sandbox, demo_plan(**CREATE_ANSWERS))
    statements = iam_policy.policy(ctx, actions)["Statement"]
    deleting = [s for s in statements if any(a.split(":")[1].startswith(("Delete", "Detach", "Terminate"))
                                             for a in s["Action"])]
    untagged = set()
    for s in deleting:
        assert s["Resource"] != "*"
        if "Condition" in s:
            assert s["Condition"] == {"StringEquals": {"aws:ResourceTag/vpc-mirror:setup": "demo"}}
        else:
            untagged.update(s["Action"])
    # Only what AWS makes for us untagged: the main route table's routes, the instance an ENI detaches from.
    assert untagged == {"ec2:DeleteRoute", "ec2:DetachNetworkInterface"}
    tagging = next(s for s in statements if s["Action"] == ["ec2:CreateTags"])
    assert "CreateTrafficMirrorSession" in tagging["Condition"]["StringEquals"]["ec2:CreateAction"]
    account = ctx.state.account_id
    assert all(r.startswith(("arn:aws:ec2:us-east-1:" + account, "arn:aws:ec2:us-east-1::image/"))
               for s in statements if s["Sid"] == "Create" for r in s["Resource"])


def test_export_command_writes_the_policy_of_a_saved_setup(sandbox, state_dir, tmp_path):
    from argparse import Namespace

    from vpc_mirror.tui.export_cli import export

    run(sandbox, state_dir)
    out = tmp_path / "policy.json"
    args = Namespace(name="demo", format="iam-policy", output=out, with_sync=False,
                     endpoint_url=sandbox.endpoint_url, profile=None, region=None, state_dir=state_dir)
    assert export(args) == 0
    assert "ec2:CreateTrafficMirrorSession" in _allowed(json.loads(out.read_text()))


def test_load_balancing_is_created_tagged_at_creation_and_changed_or_deleted_only_when_the_setups(sandbox):
    ctx, actions = planned(sandbox, gwlb_plan())
    statements = {s["Sid"]: s for s in iam_policy.policy(ctx, actions)["Statement"]}
    arn = f"arn:aws:elasticloadbalancing:us-east-1:{ctx.state.account_id}"
    ours = {"StringEquals": {"aws:ResourceTag/vpc-mirror:setup": "demo"}}
    assert statements["TagLoadBalancingOnCreateOnly"]["Condition"] == {
        "StringEquals": {"elasticloadbalancing:CreateAction": ["CreateLoadBalancer", "CreateTargetGroup"]}}
    changing = statements["ChangeOnlyThisSetupsLoadBalancing"]
    assert {"elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:RegisterTargets"} \
        <= set(changing["Action"]) and changing["Condition"] == ours
    # a listener only on a load balancer that carries the setup's tag
    assert statements["ListenOnlyOnThisSetupsLoadBalancer"] == {
        "Sid": "ListenOnlyOnThisSetupsLoadBalancer", "Effect": "Allow",
        "Action": ["elasticloadbalancing:CreateListener"], "Resource": f"{arn}:loadbalancer/*", "Condition": ours}
    assert not any("elasticloadbalancing:CreateListener" in s["Action"] for sid, s in statements.items()
                   if sid != "ListenOnlyOnThisSetupsLoadBalancer")
    deleting = statements["DeleteOnlyThisSetupsLoadBalancing"]
    assert set(deleting["Action"]) == {"elasticloadbalancing:DeleteLoadBalancer",
                                       "elasticloadbalancing:DeleteTargetGroup",
                                       "elasticloadbalancing:DeregisterTargets"} and deleting["Condition"] == ours
    # listeners carry no tag: only those of the setup's load balancer, by its name in their ARNs
    assert statements["ListenersOfThisSetupsLoadBalancer"]["Resource"] == [f"{arn}:listener/gwy/vpcm-demo-gwlb/*"]
    assert {"ec2:DeleteVpcEndpoints", "ec2:DeleteVpcEndpointServiceConfigurations"} \
        <= set(statements["DeleteOnlyThisSetup"]["Action"])


def test_the_sensors_are_registered_only_in_the_reused_target_group_whose_arn_the_plan_found(sandbox):
    """The reused target group is the user's (untagged): no tag condition, but that group's ARN only; nothing of
    Elastic Load Balancing is created, tagged or deleted."""
    ctx, actions = planned(sandbox, nlb_plan(load_balancer_arn=users_nlb(sandbox)))
    group = next(a.id for a in actions if a.key == "lb/target-group")
    statements = {s["Sid"]: s for s in iam_policy.policy(ctx, actions)["Statement"]}
    assert statements["RegisterTheSensorsInTheReusedTargetGroup"] == {
        "Sid": "RegisterTheSensorsInTheReusedTargetGroup", "Effect": "Allow",
        "Action": ["elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"],
        "Resource": [group]}
    elb = {a for s in statements.values() for a in s["Action"] if a.startswith("elasticloadbalancing:")}
    assert elb == {"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets",
                   "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners",
                   "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"}


@pytest.mark.parametrize("plan", [nlb_plan, gwlb_plan], ids=["nlb", "gwlb"])
def test_security_groups_are_changed_only_on_interfaces_in_the_sensors_vpc(sandbox, plan):
    ctx, actions = planned(sandbox, plan())
    statements = iam_policy.policy(ctx, actions)["Statement"]
    arn = f"arn:aws:ec2:us-east-1:{ctx.state.account_id}"
    interfaces, others = [s for s in statements if "ec2:ModifyNetworkInterfaceAttribute" in s["Action"]]
    assert interfaces["Action"] == others["Action"] == ["ec2:ModifyNetworkInterfaceAttribute"]
    assert interfaces["Resource"] == [f"{arn}:network-interface/*"]
    assert interfaces["Condition"] == {"StringEquals": {"ec2:Vpc": f"{arn}:vpc/{ctx.facts('vpc')['vpc_id']}"}}
    # no other statement allows it on an interface
    assert not any("network-interface" in r for r in others["Resource"])


@pytest.mark.parametrize("plan", [nlb_plan, gwlb_plan], ids=["nlb", "gwlb"])
def test_stickiness_is_set_only_on_the_setups_target_group(sandbox, plan):
    ctx, actions = planned(sandbox, plan())
    policy = iam_policy.policy(ctx, actions)
    statements = {s["Sid"]: s for s in policy["Statement"]}
    changing = statements["ChangeOnlyThisSetupsLoadBalancing"]
    assert "elasticloadbalancing:ModifyTargetGroupAttributes" in changing["Action"]
    assert changing["Condition"] == {"StringEquals": {"aws:ResourceTag/vpc-mirror:setup": "demo"}}
    assert "elasticloadbalancing:DescribeTargetGroupAttributes" \
        in statements["ReadNoResourceLevelPermissions"]["Action"]
    _no_empty_statement(policy)


def test_a_reused_sensors_security_groups_are_changed_on_its_own_interface_only(sandbox):
    (ref,) = more_sources(sandbox, 1)  # the user's own instance, the sensor
    sensor = ec2(sandbox).describe_instances(Filters=[{"Name": "tag:Name", "Values": [ref[5:]]}])[
        "Reservations"][0]["Instances"][0]
    ctx, actions = planned(sandbox, nlb_plan().model_copy(
        update={"sensor": SensorPlan(mode="existing", instance_id=sensor["InstanceId"])}))
    arn = f"arn:aws:ec2:us-east-1:{ctx.state.account_id}"
    (changing, _) = [s for s in iam_policy.policy(ctx, actions)["Statement"]
                     if "ec2:ModifyNetworkInterfaceAttribute" in s["Action"]]
    eni = sensor["NetworkInterfaces"][0]["NetworkInterfaceId"]
    assert changing["Resource"] == [f"{arn}:network-interface/{eni}"]
    assert changing["Condition"] == {"StringEquals": {"ec2:Vpc": f"{arn}:vpc/{sensor['VpcId']}"}}
