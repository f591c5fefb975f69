"""What the deploy drill checks on a deployed stage, against the project's sources of truth.

The expectations come from the copy the drill deployed: ``.chalice/config.json`` (memory,
timeout, environment, policy file of each function, the API stage), the policy files, the
PynamoDB models, the app's routes, ``infra/*.yaml`` and the packaged template Chalice writes
(handlers, runtime, event sources). What is deployed is read back from the simulator through
the AWS APIs, as an operator would read a real account.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from chalicelib.ops import infra

# Resources the drill expects by fixed name (infra/data.yaml, chalicelib/workers.py).
SEND_QUEUE = "eso-sends"
SES_EVENTS_TOPIC = "eso-ses-events"


@dataclass
class Clients:
    s3: object
    lam: object
    iam: object
    sqs: object
    sns: object
    apigateway: object
    dynamodb: object
    cloudwatch: object
    logs: object


def clients(drill) -> Clients:
    """boto3 clients of the simulator (credentials and endpoint given, never looked up)."""
    cached = getattr(drill, "_clients", None)
    if cached is None:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(aws_access_key_id="drill",
                                        aws_secret_access_key="drill", region_name="us-east-1")
        config = Config(retries={"max_attempts": 2}, read_timeout=60)

        def make(service):
            return session.client(service, endpoint_url=drill.simulator.endpoint, config=config)

        cached = drill._clients = Clients(
            s3=make("s3"), lam=make("lambda"), iam=make("iam"), sqs=make("sqs"),
            sns=make("sns"), apigateway=make("apigateway"), dynamodb=make("dynamodb"),
            cloudwatch=make("cloudwatch"), logs=make("logs"))
    return cached


class Mismatch(Exception):
    """A check's finding: what differs, in one line."""


def _check(name: str, probe: Callable[[], str]):
    from devstack.drill import Check

    try:
        return Check("", name, True, probe() or "")
    except Mismatch as exc:
        return Check("", name, False, str(exc))
    except Exception as exc:  # any error reading the stage fails the check, with its message
        return Check("", name, False, f"{type(exc).__name__}: {exc}"[:600])


def _sub(value, stage: str):
    """A template value with ${Stage} (and the simulator's pseudo parameters) resolved."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        value = value["Fn::Sub"]
    if not isinstance(value, str):
        return value
    return (value.replace("${Stage}", stage).replace("${AWS::Partition}", "aws")
            .replace("${AWS::Region}", "us-east-1").replace("${AWS::AccountId}", "123456789012"))


# --- the sources of truth ---------------------------------------------------------------------


@dataclass
class ExpectedFunction:
    name: str            # the deployed function name
    chalice_name: str    # its name in .chalice/config.json lambda_functions
    logical_id: str
    handler: str
    runtime: str
    architecture: str
    log_days: int
    memory: int
    timeout: int
    environment: dict
    policy_file: str
    policy: dict
    events: dict


def packaged_template(drill) -> dict:
    """The template the package path deployed, or on the chalice path the one built beside
    the deploy as the reference."""
    reference = getattr(drill, "reference", None)
    if reference is not None:
        return reference.result()
    return json.loads(drill.template_path.read_text())


def expected_functions(drill) -> list:
    project, stage = drill.project, drill.stage
    config = json.loads((project / ".chalice" / "config.json").read_text())
    stage_config = config["stages"][stage]
    template = packaged_template(drill)
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        if "FunctionName" not in props:
            raise Mismatch(f"the packaged template does not name {logical_id} "
                           f"(infra/functions.yaml)")
        name = _sub(props["FunctionName"], stage)
        prefix = f"{config['app_name']}-{stage}"
        chalice_name = "api_handler" if name == prefix else name.removeprefix(prefix + "-")
        chain = [stage_config.get("lambda_functions", {}).get(chalice_name, {}), stage_config,
                 config.get("lambda_functions", {}).get(chalice_name, {}), config]

        def setting(key, default=None, chain=chain):
            return next((level[key] for level in chain if key in level), default)

        environment = {}
        for level in reversed(chain):
            environment.update(level.get("environment_variables", {}))
        policy_file = setting("iam_policy_file")
        found.append(ExpectedFunction(
            name=name, chalice_name=chalice_name, logical_id=logical_id,
            handler=props["Handler"], runtime=props["Runtime"],
            architecture=setting("lambda_architecture", "x86_64"),
            log_days=setting("log_retention_in_days"),
            memory=setting("lambda_memory_size", 128), timeout=setting("lambda_timeout", 60),
            environment=environment, policy_file=policy_file,
            policy=json.loads((project / ".chalice" / policy_file).read_text()),
            events=props.get("Events", {})))
    return found


@lru_cache(maxsize=4)
def _routes(project: Path) -> dict:
    """The app's routes, read from the app of the copy: {path: [methods]}."""
    code = ("import json, app; print(json.dumps({p: sorted(m) for p, m in "
            "app.app.routes.items()}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True,
                         text=True, check=True,
                         # no bytecode in the copy: Chalice's zip cache hashes chalicelib/
                         env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1",
                              "PYTHONDONTWRITEBYTECODE": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def _model_shape(model) -> dict:
    schema = model._get_schema()
    return {
        "keys": sorted((k["AttributeName"], k["KeyType"]) for k in schema["key_schema"]),
        "attributes": sorted((a["AttributeName"], a["AttributeType"])
                             for a in schema["attribute_definitions"]),
        "indexes": sorted(
            (i["index_name"], tuple(sorted((k["AttributeName"], k["KeyType"])
                                           for k in i["key_schema"])),
             i["projection"]["ProjectionType"]) for i in schema["global_secondary_indexes"]),
    }


def _table_shape(table: dict) -> dict:
    return {
        "keys": sorted((k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]),
        "attributes": sorted((a["AttributeName"], a["AttributeType"])
                             for a in table["AttributeDefinitions"]),
        "indexes": sorted(
            (i["IndexName"], tuple(sorted((k["AttributeName"], k["KeyType"])
                                          for k in i["KeySchema"])),
             i["Projection"]["ProjectionType"]) for i in table.get("GlobalSecondaryIndexes", [])),
    }


# --- the checks -------------------------------------------------------------------------------


def deployed_stage(drill) -> list:
    c = clients(drill)
    stage = drill.stage
    functions: list = []

    def read_functions() -> str:
        functions.extend(expected_functions(drill))
        return f"{len(functions)} functions"

    read = _check("the functions the packaged template and .chalice/config.json describe",
                  read_functions)
    if not read.ok:
        return [read]
    deployed = {}
    checks = []
    for fn in functions:
        checks.append(_check(f"function {fn.name}: handler, runtime, architecture, memory, "
                             "timeout, environment",
                             lambda fn=fn: _function_config(c, fn, deployed,
                                                            drill_path(drill) == "chalice")))
        checks.append(_check(f"function {fn.name}: its role holds exactly {fn.policy_file}",
                             lambda fn=fn: _function_role(c, fn)))
        checks.append(_check(f"function {fn.name}: its logs kept as .chalice/config.json says",
                             lambda fn=fn: _log_retention(c, fn)))
        for event in fn.events.values():
            if event["Type"] == "SQS":
                checks.append(_check(
                    f"function {fn.name}: reads queue "
                    f"{_sub(event['Properties']['Queue'], stage).rsplit(':', 1)[1]}",
                    lambda fn=fn, event=event: _sqs_source(c, fn, event, stage)))
            elif event["Type"] == "SNS":
                checks.append(_check(
                    f"function {fn.name}: subscribed to topic "
                    f"{_sub(event['Properties']['Topic'], stage).rsplit(':', 1)[1]}",
                    lambda fn=fn, event=event: _sns_source(c, fn, event, stage)))
    api = next((fn for fn in functions if fn.chalice_name == "api_handler"), None)
    worker = next((fn for fn in functions
                   if any(e["Type"] == "SQS" for e in fn.events.values())), None)
    checks += [
        _check(f"queue {SEND_QUEUE}: visibility timeout ≥ the send worker's timeout",
               lambda: _visibility(c, worker)),
        _check(f"queue {SEND_QUEUE}: a dead-letter queue, keeping messages longer",
               lambda: _dead_letters(c, drill)),
        _check("tables: keys and indexes as the PynamoDB models", lambda: _tables(c, stage)),
        _check("routes: every route of the app reaches the API function",
               lambda: _routes_reach(c, drill, api)),
        _check("API stage as .chalice/config.json names it", lambda: _api_stage(c, drill)),
        _check("gateway responses as infra/api.yaml", lambda: _gateway_responses(c, drill)),
        _check("API compresses answers as .chalice/config.json says",
               lambda: _compression(c, drill)),
        _check("alarms: every alarm of infra/monitoring.yaml, on something that exists",
               lambda: _alarms(c, drill, functions)),
        _check(f"alarm topic eso-{stage}-alarms mails the alarm address",
               lambda: _alarm_topic(c, drill)),
        _check(f"dashboard eso-{stage}: the app's metrics of this stage",
               lambda: _dashboard(c, stage)),
        _check("`python -m chalicelib.cli status` reads the stage", lambda: _status(drill)),
    ]
    if drill_path(drill) == "package":
        checks.append(_check("assets distribution: the bucket only, compressed; the API "
                             "function links its host", lambda: _assets_distribution(drill)))
    if any(r.get("Type") == "AWS::S3::Bucket" and "Assets" in name for name, r in
           packaged_template(drill)["Resources"].items()) and drill_path(drill) == "package":
        checks.append(_check("assets: every static file in the stage's bucket, by its hashed "
                             "name, kept a year", lambda: _assets(c, drill)))
    return checks


def drill_path(drill) -> str:
    """Which deploy path ``drill`` rehearses (the chalice path builds a reference template)."""
    return "chalice" if getattr(drill, "reference", None) is not None else "package"


def _log_retention(c, fn: ExpectedFunction) -> str:
    if not fn.log_days:
        raise Mismatch("no log_retention_in_days in .chalice/config.json: logs kept forever")
    group = f"/aws/lambda/{fn.name}"
    found = [g for g in c.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
             if g["logGroupName"] == group]
    if not found:
        raise Mismatch(f"no log group {group}")
    days = found[0].get("retentionInDays")
    if days != fn.log_days:
        raise Mismatch(f"{group} kept {days or 'forever'}, expected {fn.log_days} days")
    return f"{group}: {days} days"


def _assets(c, drill) -> str:
    from chalicelib.platform import assets
    from devstack.assets import bucket_name

    bucket = bucket_name(drill.stage, "123456789012")
    wrong = []
    for asset in assets.manifest().values():
        key = assets.PREFIX.lstrip("/") + asset.hashed_name
        try:
            head = c.s3.head_object(Bucket=bucket, Key=key)
        except c.s3.exceptions.ClientError as exc:
            wrong.append(f"{key}: {exc.response['Error'].get('Code')}")
            continue
        if head.get("CacheControl") != assets.IMMUTABLE or head.get("ContentType") != asset.media_type:
            wrong.append(f"{key}: {head.get('ContentType')}, {head.get('CacheControl')}")
    if wrong:
        raise Mismatch("; ".join(wrong))
    return f"{len(assets.manifest())} files in {bucket}"


def _function_config(c, fn: ExpectedFunction, deployed: dict, architecture: bool = True) -> str:
    """``architecture``: compare it too (moto's CloudFormation ignores a function's
    Architectures, so on the package path only the template says it)."""
    config = c.lam.get_function_configuration(FunctionName=fn.name)
    deployed[fn.name] = config
    wanted = {"Handler": fn.handler, "Runtime": fn.runtime, "MemorySize": fn.memory,
              "Timeout": fn.timeout, "Environment": fn.environment,
              "Architectures": [fn.architecture]}
    found = {"Handler": config.get("Handler"), "Runtime": config.get("Runtime"),
             "Architectures": config.get("Architectures") or ["x86_64"],
             "MemorySize": config.get("MemorySize"), "Timeout": config.get("Timeout"),
             "Environment": (config.get("Environment") or {}).get("Variables", {})}
    if not architecture:
        del wanted["Architectures"]
    origin = found["Environment"].get("ESO_ASSETS_ORIGIN")
    if not architecture and fn.chalice_name == "api_handler":   # the package path's template
        if origin is None or not ASSETS_ORIGIN.fullmatch(origin):
            raise Mismatch(f"ESO_ASSETS_ORIGIN {origin!r}, expected the distribution's "
                           "https://….cloudfront.net")
        found["Environment"] = {k: v for k, v in found["Environment"].items()
                                if k != "ESO_ASSETS_ORIGIN"}
    diffs = [f"{key} {found[key]!r}, expected {wanted[key]!r}"
             for key in wanted if found[key] != wanted[key]]
    if diffs:
        raise Mismatch("; ".join(diffs))
    return f"{fn.architecture}, {fn.memory} MB, {fn.timeout} s, {len(fn.environment)} variables"


def _function_role(c, fn: ExpectedFunction) -> str:
    role_name = c.lam.get_function_configuration(FunctionName=fn.name)["Role"].rsplit("/", 1)[1]
    names = c.iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    attached = c.iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    documents = [c.iam.get_role_policy(RoleName=role_name, PolicyName=n)["PolicyDocument"]
                 for n in names]
    if attached:
        raise Mismatch(f"role {role_name} has managed policies attached: "
                       f"{[p['PolicyName'] for p in attached]}")
    documents = [json.loads(d) if isinstance(d, str) else d for d in documents]
    if documents != [fn.policy]:
        differs = "" if len(documents) != 1 else ": " + _first_difference(documents[0], fn.policy)
        raise Mismatch(f"role {role_name} holds {len(documents)} policies, not exactly "
                       f"{fn.policy_file}{differs}")
    return f"role {role_name}"


def _first_difference(found, wanted, where: str = "") -> str:
    if isinstance(found, dict) and isinstance(wanted, dict):
        for key in sorted(set(found) | set(wanted)):
            if found.get(key) != wanted.get(key):
                return _first_difference(found.get(key), wanted.get(key), f"{where}.{key}")
    if isinstance(found, list) and isinstance(wanted, list) and len(found) == len(wanted):
        for number, (one, other) in enumerate(zip(found, wanted)):
            if one != other:
                return _first_difference(one, other, f"{where}[{number}]")
    return f"{where or 'document'} is {json.dumps(found)[:120]}, expected {json.dumps(wanted)[:120]}"


def _sqs_source(c, fn: ExpectedFunction, event: dict, stage: str) -> str:
    queue_arn = _sub(event["Properties"]["Queue"], stage)
    function_arn = c.lam.get_function_configuration(FunctionName=fn.name)["FunctionArn"]
    mappings = c.lam.list_event_source_mappings()["EventSourceMappings"]
    found = [m for m in mappings if m["FunctionArn"] == function_arn
             and m["EventSourceArn"].rsplit(":", 1)[1] == queue_arn.rsplit(":", 1)[1]]
    if len(found) != 1:
        raise Mismatch(f"{len(found)} mappings from {queue_arn.rsplit(':', 1)[1]}")
    batch = event["Properties"].get("BatchSize", 10)
    if found[0]["BatchSize"] != batch:
        raise Mismatch(f"batch size {found[0]['BatchSize']}, expected {batch}")
    if found[0].get("State") not in ("Enabled", "Creating", None):
        raise Mismatch(f"mapping is {found[0]['State']}")
    # The maximum concurrency bounds how many workers send at once (the stage's SES rate is
    # shared between them): the deployed mapping must carry the template's.
    scaling = event["Properties"].get("ScalingConfig") or {}
    deployed = found[0].get("ScalingConfig") or {}
    if deployed.get("MaximumConcurrency") != scaling.get("MaximumConcurrency"):
        raise Mismatch(f"maximum concurrency {deployed.get('MaximumConcurrency')}, expected "
                       f"{scaling.get('MaximumConcurrency')}")
    if scaling:
        return f"batch size {batch}, at most {scaling['MaximumConcurrency']} at once"
    return f"batch size {batch}"


def _sns_source(c, fn: ExpectedFunction, event: dict, stage: str) -> str:
    topic_name = _sub(event["Properties"]["Topic"], stage).rsplit(":", 1)[1]
    arn = _topic_arn(c, topic_name)
    function_arn = c.lam.get_function_configuration(FunctionName=fn.name)["FunctionArn"]
    subscriptions = c.sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    if not any(s["Protocol"] == "lambda" and s["Endpoint"] == function_arn
               for s in subscriptions):
        raise Mismatch(f"no lambda subscription of {fn.name} on {topic_name}")
    policy = json.loads(c.lam.get_policy(FunctionName=fn.name)["Policy"])
    if not any("sns.amazonaws.com" in json.dumps(s.get("Principal")) for s in
               policy["Statement"]):
        raise Mismatch(f"SNS may not invoke {fn.name} (no permission)")
    return "and SNS may invoke it"


def _topic_arn(c, name: str) -> str:
    for topic in c.sns.list_topics()["Topics"]:
        if topic["TopicArn"].rsplit(":", 1)[1] == name:
            return topic["TopicArn"]
    raise Mismatch(f"no topic {name}")


def _queue_attributes(c, name: str) -> dict:
    url = c.sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return c.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def _visibility(c, worker) -> str:
    if worker is None:
        raise Mismatch("no function reads a queue")
    visibility = int(_queue_attributes(c, SEND_QUEUE)["VisibilityTimeout"])
    timeout = c.lam.get_function_configuration(FunctionName=worker.name)["Timeout"]
    if visibility < timeout:
        raise Mismatch(f"visibility timeout {visibility} s < {worker.name} timeout {timeout} s:"
                       f" AWS refuses the event source mapping")
    return f"{visibility} s ≥ {timeout} s"


def _dead_letters(c, drill) -> str:
    attributes = _queue_attributes(c, SEND_QUEUE)
    redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
    if not redrive:
        raise Mismatch(f"{SEND_QUEUE} has no redrive policy")
    data = infra.load(drill.project / "infra" / "data.yaml")["Resources"]
    wanted = data["SendQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    dead_name = redrive["deadLetterTargetArn"].rsplit(":", 1)[1]
    dead = _queue_attributes(c, dead_name)
    if int(redrive["maxReceiveCount"]) != int(wanted):
        raise Mismatch(f"after {redrive['maxReceiveCount']} receives, infra/data.yaml says "
                       f"{wanted}")
    kept, dead_kept = (int(attributes["MessageRetentionPeriod"]),
                       int(dead["MessageRetentionPeriod"]))
    if dead_kept <= kept:
        raise Mismatch(f"{dead_name} keeps messages {dead_kept} s, not longer than "
                       f"{SEND_QUEUE} ({kept} s)")
    return f"{dead_name} after {wanted} receives, kept {dead_kept // 86400} days"


def _tables(c, stage: str) -> str:
    from chalicelib.ops.tables import ALL_MODELS

    wrong = []
    for model in ALL_MODELS:
        name = f"eso-{stage}-{model.Meta.table_suffix}"
        try:
            table = c.dynamodb.describe_table(TableName=name)["Table"]
        except c.dynamodb.exceptions.ResourceNotFoundException:
            wrong.append(f"{name} missing")
            continue
        if _table_shape(table) != _model_shape(model):
            wrong.append(f"{name} differs from {model.__name__}")
    if wrong:
        raise Mismatch("; ".join(wrong))
    return f"{len(ALL_MODELS)} tables"


def _rest_api(c) -> dict:
    apis = [a for a in c.apigateway.get_rest_apis(limit=500)["items"] if a["name"] == "eso"]
    if len(apis) != 1:
        raise Mismatch(f"{len(apis)} REST APIs named eso")
    return apis[0]


def _routes_reach(c, drill, api) -> str:
    if api is None:
        raise Mismatch("no API function")
    function_arn = c.lam.get_function_configuration(FunctionName=api.name)["FunctionArn"]
    rest_api = _rest_api(c)
    resources = c.apigateway.get_resources(restApiId=rest_api["id"], limit=500,
                                           embed=["methods"])["items"]
    by_path = {r["path"]: r.get("resourceMethods", {}) for r in resources}
    routes = _routes(drill.project)
    missing = []
    count = 0
    for path, methods in routes.items():
        for method in methods:
            count += 1
            integration = by_path.get(path, {}).get(method, {}).get("methodIntegration") or {}
            if (integration.get("type") or "").upper() != "AWS_PROXY" or (
                    function_arn not in integration.get("uri", "")):
                missing.append(f"{method} {path}")
    if missing:
        raise Mismatch(f"{len(missing)} of {count} routes do not reach {api.name}: "
                       + ", ".join(missing[:5]))
    policy = json.loads(c.lam.get_policy(FunctionName=api.name)["Policy"])
    if not any("apigateway.amazonaws.com" in json.dumps(s.get("Principal"))
               for s in policy["Statement"]):
        raise Mismatch(f"API Gateway may not invoke {api.name} (no permission)")
    return f"{count} routes"


def _api_stage(c, drill) -> str:
    config = json.loads((drill.project / ".chalice" / "config.json").read_text())
    wanted = config["stages"][drill.stage].get("api_gateway_stage", "api")
    stages = c.apigateway.get_stages(restApiId=_rest_api(c)["id"])["item"]
    names = [s["stageName"] for s in stages]
    if wanted not in names:
        raise Mismatch(f"stages {names}, expected {wanted!r}")
    return wanted


def assets_distribution_problems(template: dict) -> list:
    """What differs from the design in a template's CloudFront distribution: it serves the
    assets bucket only (no API origin, no other behaviour), compressed, GET and HEAD only, and
    the API function's ESO_ASSETS_ORIGIN is its host."""
    resources = template["Resources"]
    problems = []
    distributions = {n: r for n, r in resources.items()
                     if r.get("Type") == "AWS::CloudFront::Distribution"}
    if list(distributions) != ["SiteDistribution"]:
        return [f"distributions {sorted(distributions)}, expected SiteDistribution only"]
    config = distributions["SiteDistribution"]["Properties"]["DistributionConfig"]
    origins = config.get("Origins", [])
    if len(origins) != 1 or "S3OriginConfig" not in origins[0]:
        problems.append(f"origins {[o.get('Id') for o in origins]}, expected the bucket only")
    elif origins[0].get("DomainName") != {"Fn::GetAtt": ["AssetsBucket", "RegionalDomainName"]}:
        problems.append(f"origin {origins[0].get('DomainName')!r} is not the assets bucket")
    if config.get("CacheBehaviors"):
        problems.append("other behaviours than the default one")
    default = config.get("DefaultCacheBehavior", {})
    if default.get("Compress") is not True:
        problems.append("the static files are not compressed")
    if sorted(default.get("AllowedMethods", [])) != ["GET", "HEAD"]:
        problems.append(f"methods {default.get('AllowedMethods')}, expected GET and HEAD")
    variables = (resources.get("APIHandler", {}).get("Properties", {}).get("Environment", {})
                 .get("Variables", {}))
    wanted = {"Fn::Sub": "https://${SiteDistribution.DomainName}"}
    if variables.get("ESO_ASSETS_ORIGIN") != wanted:
        problems.append(f"the API function's ESO_ASSETS_ORIGIN is "
                        f"{variables.get('ESO_ASSETS_ORIGIN')!r}, not the distribution's host")
    return problems


def _assets_distribution(drill) -> str:
    problems = assets_distribution_problems(packaged_template(drill))
    if problems:
        raise Mismatch("; ".join(problems))
    return "/assets/* from S3 on the distribution's own host"


def _compression(c, drill) -> str:
    config = json.loads((drill.project / ".chalice" / "config.json").read_text())
    wanted = config["stages"][drill.stage].get("minimum_compression_size",
                                                config.get("minimum_compression_size"))
    found = _rest_api(c).get("minimumCompressionSize")
    if found != wanted:
        raise Mismatch(f"minimumCompressionSize {found!r}, expected {wanted!r}")
    return f"answers above {found} bytes compressed"


# What the packaged template adds to the API function's environment (infra/assets.yaml): the
# host of the assets' distribution (a stand-in's on the simulator: an id and a host).
ASSETS_ORIGIN = re.compile(r"https://[a-z0-9]+\.cloudfront\.net")


def _gateway_responses(c, drill) -> str:
    rest_api = _rest_api(c)
    wanted = infra.gateway_responses(drill.project / "infra" / "api.yaml")
    deployed = {r["responseType"]: r for r in
                c.apigateway.get_gateway_responses(restApiId=rest_api["id"])["items"]
                if not r.get("defaultResponse")}
    wrong = []
    for response in wanted:
        found = deployed.get(response["ResponseType"])
        if found is None:
            wrong.append(f"{response['ResponseType']} missing")
            continue
        if (str(found.get("statusCode") or "") != str(response.get("StatusCode") or "")
                or found.get("responseParameters", {}) != response.get("ResponseParameters", {})
                or found.get("responseTemplates", {}) != response.get("ResponseTemplates", {})):
            wrong.append(f"{response['ResponseType']} differs")
    if wrong:
        raise Mismatch("; ".join(wrong) + " (an unknown path would answer API Gateway's own "
                                          "403 instead of eSO's 404)")
    return f"{len(wanted)} responses"


def _alarms(c, drill, functions) -> str:
    stage = drill.stage
    template = infra.load(drill.project / "infra" / "monitoring.yaml")["Resources"]
    wanted = sorted(_sub(r["Properties"]["AlarmName"], stage) for r in template.values()
                    if r["Type"] == "AWS::CloudWatch::Alarm")
    found = {}
    for page in c.cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=infra.ALARM_PREFIX.format(stage=stage)):
        found.update({a["AlarmName"]: a for a in page["MetricAlarms"]})
    missing = [n for n in wanted if n not in found]
    if missing:
        raise Mismatch(f"{len(missing)} of {len(wanted)} alarms missing: {', '.join(missing[:4])}")
    exists = {
        "FunctionName": {fn.name for fn in functions},
        "QueueName": {url.rsplit("/", 1)[1]
                      for url in c.sqs.list_queues().get("QueueUrls", [])},
        "TableName": set(c.dynamodb.list_tables()["TableNames"]),
        "ApiName": {a["name"] for a in c.apigateway.get_rest_apis()["items"]},
        "Stage": {s["stageName"] for s in c.apigateway.get_stages(
            restApiId=_rest_api(c)["id"])["item"]},
    }
    topic = _topic_arn(c, infra.ALARM_TOPIC.format(stage=stage))
    wrong = []
    for name in wanted:
        alarm = found[name]
        dimensions = list(alarm.get("Dimensions", []))
        for query in alarm.get("Metrics", []):
            dimensions += query.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
        for dimension in dimensions:
            known = exists.get(dimension["Name"])
            if known is not None and dimension["Value"] not in known:
                wrong.append(f"{name} watches {dimension['Name']} {dimension['Value']}, "
                             f"which does not exist")
        if alarm.get("AlarmActions") != [topic]:
            wrong.append(f"{name} does not notify {topic.rsplit(':', 1)[1]}")
    if wrong:
        raise Mismatch("; ".join(wrong[:4]) + (f" (+{len(wrong) - 4})" if len(wrong) > 4 else ""))
    return f"{len(wanted)} alarms"


def _alarm_topic(c, drill) -> str:
    from devstack.drill import DRILL_VALUES

    arn = _topic_arn(c, infra.ALARM_TOPIC.format(stage=drill.stage))
    subscriptions = c.sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    address = DRILL_VALUES["ALARM_EMAIL"]
    if not any(s["Protocol"] == "email" and s["Endpoint"] == address for s in subscriptions):
        raise Mismatch(f"no e-mail subscription for {address}")
    return address


def _dashboard(c, stage: str) -> str:
    body = json.loads(c.cloudwatch.get_dashboard(DashboardName=f"eso-{stage}")["DashboardBody"])
    emitted = set()
    for widget in body["widgets"]:
        for metric in widget.get("properties", {}).get("metrics", []):
            if metric and metric[0] == "eSO":
                dims = dict(zip(metric[2::2], metric[3::2]))
                if dims.get("stage") != stage:
                    raise Mismatch(f"{metric[1]} shown for stage {dims.get('stage')!r}")
                emitted.add(metric[1])
    if not emitted:
        raise Mismatch("no metric of the app")
    return f"{len(emitted)} metrics of the app"


def _status(drill) -> str:
    result = subprocess.run([sys.executable, "-m", "chalicelib.cli", "--stage", drill.stage,
                             "status", "--json"], cwd=drill.project, env=drill.env,
                            capture_output=True, text=True, timeout=120)
    lines = result.stdout.strip().splitlines()
    if result.returncode not in (0, 1) or len(lines) != 1:
        raise Mismatch(f"exit {result.returncode}: {(result.stderr or result.stdout)[-300:]}")
    status = json.loads(lines[0])
    names = {a["name"] for a in status["alarms"] or []}
    queues = {q["name"]: q for q in status["queues"] or []}
    if len(names) < 1 or set(queues) != {SEND_QUEUE, SEND_QUEUE + "-dlq"}:
        raise Mismatch(f"alarms {len(names)}, queues {sorted(queues)}")
    if any(a["state"] == "ALARM" for a in status["alarms"]) or any(
            q["visible"] for q in queues.values()):
        raise Mismatch("an alarm in ALARM or messages waiting on a fresh stage")
    return f"{len(names)} alarms, queues {', '.join(sorted(queues))}"


# --- after `chalice delete` -------------------------------------------------------------------


def deleted_stage(drill) -> list:
    c = clients(drill)
    stage = drill.stage

    def gone() -> str:
        names = {f["FunctionName"] for f in c.lam.list_functions()["Functions"]}
        left = sorted(n for n in names if re.match(rf"eso-{stage}($|-)", n))
        roles = sorted(r["RoleName"] for r in c.iam.list_roles()["Roles"]
                       if r["RoleName"].startswith(f"eso-{stage}-"))
        apis = [a["name"] for a in c.apigateway.get_rest_apis()["items"] if a["name"] == "eso"]
        if left or roles or apis:
            raise Mismatch(f"left behind: functions {left}, roles {roles}, APIs {apis}")
        mappings = c.lam.list_event_source_mappings()["EventSourceMappings"]
        if mappings:
            raise Mismatch(f"{len(mappings)} event source mappings left")
        subscriptions = c.sns.list_subscriptions_by_topic(
            TopicArn=_topic_arn(c, SES_EVENTS_TOPIC))["Subscriptions"]
        if any(s["Protocol"] == "lambda" for s in subscriptions):
            raise Mismatch(f"a lambda subscription to {SES_EVENTS_TOPIC} is left")
        return "functions, roles, REST API, event sources"

    def data_kept() -> str:
        from chalicelib.ops.tables import ALL_MODELS

        tables = set(c.dynamodb.list_tables()["TableNames"])
        missing = [m.Meta.table_suffix for m in ALL_MODELS
                   if f"eso-{stage}-{m.Meta.table_suffix}" not in tables]
        if missing:
            raise Mismatch(f"tables gone: {missing}")
        _queue_attributes(c, SEND_QUEUE)
        return f"{len(ALL_MODELS)} tables, the queues and topics of the data stack"

    return [_check("`chalice delete` removed what `chalice deploy` made", gone),
            _check("the data stack is untouched", data_kept)]

