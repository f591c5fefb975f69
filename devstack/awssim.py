"""An AWS simulator for the deploy drill: moto in server mode, offline, on a port of its own.

``python -m devstack.awssim --port P`` (or ``--fd N``: a listening socket it inherits) serves
moto (pinned in requirements-dev.txt) with the few patches below, each filling one gap that
stops eSO's two deploy paths from running on it. They are written against moto 5.2.5
(``MOTO_VERSION``); tests/unit/ops/test_awssim.py shows for each one that unpatched moto still
has the gap (so the patch can go once moto fills it) and that the patch fills it. Nothing here
is used by the product.

- API Gateway imports Chalice's Swagger 2.0 document (``chalice deploy``): moto accepts only
  OpenAPI 3 and requires ``info.description``. Its importer reads only ``paths`` and the
  ``x-amazon-apigateway-integration`` of each method, which Swagger 2.0 writes the same way.
- CloudFormation expands the ``AWS::Serverless-2016-10-31`` transform (the ``chalice package``
  template) with aws-sam-translator, as CloudFormation itself does; moto ignores transforms.
- CloudFormation creates what a change set adds in dependency order (``DependsOn``, ``Ref``,
  ``GetAtt``, ``Sub``), as CloudFormation does; moto's change sets follow the template's order
  and create a referenced resource early, ignoring its ``DependsOn``.
- CloudFormation creates a ``AWS::ApiGateway::RestApi`` from its ``Body`` (name from the
  document's title, as API Gateway does) with its ``MinimumCompressionSize``; moto requires
  ``Name`` and ignores the body and the compression.
- API Gateway's UpdateRestApi replaces ``/minimumCompressionSize`` (``chalice deploy`` sets it
  so); moto ignores that operation.
- CloudFormation keeps a role's inline policies as JSON; moto keeps the template's mapping,
  and GetRolePolicy then answers its Python repr.
- CloudFormation creates the types the stack uses that moto's CloudFormation skips although
  moto has the API: ``AWS::ApiGateway::GatewayResponse``, ``AWS::ApiGateway::Stage``,
  ``AWS::SNS::Subscription`` and ``AWS::CloudWatch::Alarm``; and stand-ins for
  ``AWS::CloudFront::Distribution`` (an id and a ``*.cloudfront.net`` host, nothing served)
  and ``AWS::CloudFront::OriginAccessControl`` (an id), so that what refers to them (the API
  function's ``ESO_ASSETS_ORIGIN``) can be created.

Types moto has no API for at all (``AWS::SES::*``, ``AWS::SNS::TopicPolicy``) stay skipped;
the drill lists them as not verifiable here.
"""
from __future__ import annotations

import argparse
import functools
import json
import re
import sys
import urllib.error
import urllib.request
from typing import Any

MOTO_VERSION = "5.2.5"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


# --- API Gateway: Chalice's Swagger 2.0 import -----------------------------------------------

def patch_swagger_import() -> None:
    from moto.apigateway.models import APIGatewayBackend

    put_rest_api = APIGatewayBackend.put_rest_api

    def import_rest_api(self, api_doc: dict, fail_on_warnings: bool):
        info = api_doc["info"]
        api = self.create_rest_api(name=info["title"], description=info.get("description", ""))
        self.put_rest_api(api.id, api_doc, fail_on_warnings=fail_on_warnings)
        return api

    def put_swagger_or_openapi(self, function_id: str, api_doc: dict, fail_on_warnings: bool,
                               mode: str = "merge"):
        if api_doc.get("swagger") == "2.0":
            api_doc = {**{k: v for k, v in api_doc.items() if k != "swagger"},
                       "openapi": "3.0.1"}
            fail_on_warnings = False  # moto's validator knows OpenAPI 3 only
        return put_rest_api(self, function_id, api_doc, fail_on_warnings, mode)

    _replace(APIGatewayBackend, "import_rest_api", import_rest_api)
    _replace(APIGatewayBackend, "put_rest_api", put_swagger_or_openapi)


# --- CloudFormation: the SAM transform --------------------------------------------------------

class _NoManagedPolicies:
    """eSO's functions name their own roles; SAM asks for AWS managed policies only when a
    function lists them, which none does."""

    def load(self) -> dict:
        return {}


def expand_sam(template: Any, account_id: str, region: str) -> Any:
    """A template with the SAM transform as CloudFormation would run it; others unchanged."""
    if not isinstance(template, dict):
        return template
    transforms = template.get("Transform")
    transforms = transforms if isinstance(transforms, list) else [transforms]
    if SAM_TRANSFORM not in transforms:
        return template
    import os

    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", region)  # the translator reads the session's
    expanded = transform(template, {"AWS::Region": region, "AWS::AccountId": account_id},
                         _NoManagedPolicies())
    rest = [t for t in transforms if t not in (SAM_TRANSFORM, None)]
    if rest:
        expanded["Transform"] = rest
    return expanded


def patch_sam_transform() -> None:
    from moto.cloudformation import models

    stack_init = models.Stack.__init__
    change_set_parse = models.ChangeSet._parse_template

    def init(self, stack_id, name, template, parameters, account_id, region_name, *args, **kw):
        if template != {}:
            template = json.dumps(expand_sam(models.Stack.parse_template(template),
                                             account_id, region_name))
        stack_init(self, stack_id, name, template, parameters, account_id, region_name,
                   *args, **kw)

    def has_template(self, other_template: str) -> bool:
        def expanded(template):
            return expand_sam(models.Stack.parse_template(template), self.account_id,
                              self.region_name)

        return expanded(self.template) == expanded(other_template)

    def parse(self) -> None:
        change_set_parse(self)
        stack = self.stack
        self.template_dict = expand_sam(self.template_dict, stack.account_id,
                                        stack.region_name)
        self.template = json.dumps(self.template_dict)

    _replace(models.Stack, "__init__", init)
    _replace(models.Stack, "has_template", has_template)
    _replace(models.ChangeSet, "_parse_template", parse)


# --- CloudFormation: creation in dependency order ---------------------------------------------

def dependencies(resource: Any, names: set) -> set:
    """The resources a resource needs first: its DependsOn, and what it references (Ref,
    GetAtt, ${X} in Sub)."""
    found = set()
    depends = resource.get("DependsOn", []) if isinstance(resource, dict) else []
    found.update([depends] if isinstance(depends, str) else depends)

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "Ref" and isinstance(inner, str):
                    found.add(inner)
                elif key == "Fn::GetAtt":
                    target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                    found.add(target)
                elif key == "Fn::Sub":
                    text = inner[0] if isinstance(inner, list) else inner
                    found.update(n.split(".")[0] for n in re.findall(r"\$\{([^}!]+)\}", text))
                    walk(inner)
                else:
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(resource.get("Properties", {}) if isinstance(resource, dict) else {})
    return found & names


def in_dependency_order(names: list, resources: dict) -> list:
    """``names`` ordered so that each comes after what it depends on (as CloudFormation
    creates them)."""
    wanted, ordered, seen = set(names), [], set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for needed in sorted(dependencies(resources[name], set(resources))):
            visit(needed)
        if name in wanted:
            ordered.append(name)

    for name in names:
        visit(name)
    return ordered


def patch_dependency_order() -> None:
    from moto.cloudformation.parsing import ResourceMap

    build_resource_diff = ResourceMap.build_resource_diff

    def ordered_diff(self, other_template: dict, parameters: dict | None = None) -> dict:
        diff = build_resource_diff(self, other_template, parameters)
        diff["Add"] = in_dependency_order(diff["Add"], other_template["Resources"])
        return diff

    _replace(ResourceMap, "build_resource_diff", ordered_diff)


# --- CloudFormation: a REST API from its body -------------------------------------------------

def patch_rest_api_body() -> None:
    from moto.apigateway.models import RestAPI, apigateway_backends

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        body = properties.get("Body")
        backend = apigateway_backends[account_id][region_name]
        name = properties.get("Name") or (body or {}).get("info", {}).get("title")
        compression = properties.get("MinimumCompressionSize")
        api = backend.create_rest_api(name=name,
                                      description=properties.get("Description", ""),
                                      endpoint_configuration=properties.get(
                                          "EndpointConfiguration"),
                                      minimum_compression_size=(
                                          int(compression) if compression is not None else None))
        if body:
            backend.put_rest_api(api.id, body, fail_on_warnings=False)
        return api

    _replace(RestAPI, "create_from_cloudformation_json", create_from_cloudformation_json)


# --- API Gateway: a REST API's minimum compression size --------------------------------------

def patch_rest_api_compression() -> None:
    from moto.apigateway.models import RestAPI

    apply_patch_operations = RestAPI.apply_patch_operations

    def with_compression(self, patch_operations: list) -> None:
        others = []
        for op in patch_operations:
            if op.get("path") == "/minimumCompressionSize" and op.get("op") == "replace":
                value = op.get("value")
                self.minimum_compression_size = int(value) if value not in (None, "") else None
            else:
                others.append(op)
        apply_patch_operations(self, others)

    _replace(RestAPI, "apply_patch_operations", with_compression)


# --- CloudFormation: a role's inline policies as JSON -----------------------------------------

def patch_role_policies() -> None:
    from moto.iam.models import Role

    create = Role.create_from_cloudformation_json.__func__

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        for policy in properties.get("Policies", []):
            if not isinstance(policy["PolicyDocument"], str):
                policy["PolicyDocument"] = json.dumps(policy["PolicyDocument"])
        return create(cls, resource_name, cloudformation_json, account_id, region_name,
                      **kwargs)

    _replace(Role, "create_from_cloudformation_json", create_from_cloudformation_json)


# --- CloudFormation: types moto's API has but its CloudFormation skips -----------------------

def _added_type(type_name: str, create, delete=None, attributes=None):
    """A CloudFormation model for ``type_name``: ``create(properties, account, region)`` makes
    the resource through moto's own backend and returns its physical id; ``attributes``
    (physical id → {name: value}) answers its ``GetAtt``."""
    class Added:
        """Quacks as moto's CloudFormationModel; not a subclass, so that it is found only
        while the patch is applied (see patch_skipped_types)."""

        def __init__(self, physical_id: str, properties: dict, account_id: str, region: str):
            self.physical_id = physical_id
            self.properties = properties
            self.account_id = account_id
            self.region = region

        @property
        def physical_resource_id(self) -> str:
            return self.physical_id

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return type_name

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attributes is not None and attr in attributes("")

        def get_cfn_attribute(self, attr: str):
            if attributes is None or attr not in attributes(self.physical_id):
                raise NotImplementedError(f"{type_name} has no attribute {attr}")
            return attributes(self.physical_id)[attr]

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json,
                                            account_id, region_name, **kwargs):
            properties = cloudformation_json.get("Properties", {})
            return cls(create(properties, account_id, region_name), properties, account_id,
                       region_name)

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name,
                                            cloudformation_json, account_id, region_name):
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                       account_id, region_name)

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json,
                                            account_id, region_name):
            if delete:
                delete(resource_name, cloudformation_json.get("Properties", {}), account_id,
                       region_name)

        def delete(self, account_id: str, region_name: str) -> None:
            if delete:
                delete(self.physical_id, self.properties, account_id, region_name)

        def is_created(self) -> bool:
            return True

    Added.__name__ = Added.__qualname__ = type_name.replace("::", "")
    return Added


def _gateway_response(properties, account_id, region):
    from moto.apigateway.models import apigateway_backends

    api = apigateway_backends[account_id][region].get_rest_api(properties["RestApiId"])
    api.put_gateway_response(properties["ResponseType"], properties.get("StatusCode"),
                             properties.get("ResponseParameters"),
                             properties.get("ResponseTemplates"))
    return f"{properties['RestApiId']}-{properties['ResponseType']}"


def _stage(properties, account_id, region):
    from moto.apigateway.models import apigateway_backends

    backend = apigateway_backends[account_id][region]
    deployment = properties["DeploymentId"]  # moto resolves a Ref to its Deployment object
    backend.create_stage(properties["RestApiId"], properties["StageName"],
                         getattr(deployment, "id", deployment),
                         variables=properties.get("Variables"),
                         description=properties.get("Description", ""),
                         tracing_enabled=properties.get("TracingEnabled"))
    return properties["StageName"]


def _subscription(properties, account_id, region):
    from moto.sns.models import sns_backends

    return sns_backends[account_id][region].subscribe(
        properties["TopicArn"], properties["Endpoint"], properties["Protocol"]).arn


def _unsubscribe(physical_id, properties, account_id, region):
    from moto.sns.models import sns_backends

    sns_backends[account_id][region].unsubscribe(physical_id)


def _metric_data_queries(metrics: list) -> list:
    from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat

    queries = []
    for query in metrics:
        stat = query.get("MetricStat")
        metric_stat = None
        if stat:
            metric = stat["Metric"]
            metric_stat = MetricStat(
                metric=Metric(metric_name=metric["MetricName"], namespace=metric["Namespace"],
                              dimensions=[Dimension(d["Name"], d["Value"])
                                          for d in metric.get("Dimensions", [])]),
                period=stat.get("Period"), stat=stat.get("Stat"), unit=stat.get("Unit"))
        queries.append(MetricDataQuery(query_id=query["Id"], label=query.get("Label"),
                                       period=query.get("Period"),
                                       return_data=query.get("ReturnData"),
                                       expression=query.get("Expression"),
                                       metric_stat=metric_stat))
    return queries


def _alarm(properties, account_id, region):
    from moto.cloudwatch.models import cloudwatch_backends

    p = properties
    cloudwatch_backends[account_id][region].put_metric_alarm(
        name=p["AlarmName"], namespace=p.get("Namespace"), metric_name=p.get("MetricName"),
        comparison_operator=p["ComparisonOperator"],
        evaluation_periods=int(p["EvaluationPeriods"]), period=p.get("Period"),
        threshold=float(p["Threshold"]) if "Threshold" in p else None,
        statistic=p.get("Statistic"), description=p.get("AlarmDescription"),
        dimensions=p.get("Dimensions", []), alarm_actions=p.get("AlarmActions", []),
        metric_data_queries=_metric_data_queries(p["Metrics"]) if p.get("Metrics") else None,
        datapoints_to_alarm=p.get("DatapointsToAlarm"), ok_actions=p.get("OKActions", []),
        insufficient_data_actions=p.get("InsufficientDataActions", []), unit=p.get("Unit"),
        actions_enabled=p.get("ActionsEnabled", True),
        treat_missing_data=p.get("TreatMissingData"))
    return p["AlarmName"]


def _delete_alarm(physical_id, properties, account_id, region):
    from moto.cloudwatch.models import cloudwatch_backends

    cloudwatch_backends[account_id][region].delete_alarms([physical_id])


def _distribution(properties, account_id, region):
    """A stand-in: moto's CloudFront API takes another shape of configuration than the
    template's, so only the distribution's id and host exist (for the references to it)."""
    import secrets

    return "E" + secrets.token_hex(6).upper()


def distribution_attributes(physical_id: str) -> dict:
    """The ``GetAtt`` of a stand-in distribution: its host is derived from its id."""
    return {"Id": physical_id, "DomainName": f"{physical_id.lower()}.cloudfront.net"}


def _origin_access_control(properties, account_id, region):
    """A stand-in too: only its id, for the distribution's reference to it."""
    import secrets

    return "E" + secrets.token_hex(7).upper()


ADDED_TYPES = {
    "AWS::CloudFront::Distribution": (_distribution, None, distribution_attributes),
    "AWS::CloudFront::OriginAccessControl": (_origin_access_control, None,
                                             lambda physical_id: {"Id": physical_id}),
    "AWS::ApiGateway::GatewayResponse": (_gateway_response, None),
    "AWS::ApiGateway::Stage": (_stage, None),
    "AWS::SNS::Subscription": (_subscription, _unsubscribe),
    "AWS::CloudWatch::Alarm": (_alarm, _delete_alarm),
}


_ADDED_MODELS: dict = {}


def patch_skipped_types() -> None:
    from moto.cloudformation import parsing

    known = parsing.get_model_map()
    _ADDED_MODELS.update({type_name: _added_type(type_name, *functions)
                          for type_name, functions in ADDED_TYPES.items()
                          if type_name not in known})
    model_list = parsing.get_model_list.__wrapped__  # moto's: CloudFormationModel subclasses

    @functools.lru_cache
    def with_added_models() -> list:
        return model_list() + list(_ADDED_MODELS.values())

    _replace(parsing, "get_model_list", with_added_models)
    _clear_model_caches()


def _clear_model_caches() -> None:
    from moto.cloudformation import parsing

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


# --- applying and removing the patches --------------------------------------------------------

_ORIGINALS: list = []  # (owner, attribute, value before the patch)


def _replace(owner: Any, attribute: str, value: Any) -> None:
    _ORIGINALS.append((owner, attribute, owner.__dict__[attribute]))
    setattr(owner, attribute, value)


PATCHES = (patch_swagger_import, patch_sam_transform, patch_dependency_order,
           patch_rest_api_body, patch_rest_api_compression, patch_role_policies,
           patch_skipped_types)


def apply_patches() -> None:
    """Every patch, once (the server applies them at start; tests apply and remove them)."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(f"devstack.awssim patches moto {MOTO_VERSION}, not {moto.__version__}:"
                           " check each patch against tests/unit/ops/test_awssim.py")
    if _ORIGINALS or _ADDED_MODELS:
        return
    for patch in PATCHES:
        patch()


def remove_patches() -> None:
    """moto as it was before ``apply_patches``."""
    while _ORIGINALS:
        owner, attribute, value = _ORIGINALS.pop()
        setattr(owner, attribute, value)
    _ADDED_MODELS.clear()
    _clear_model_caches()


# --- the server -------------------------------------------------------------------------------

def endpoint(port: int) -> str:
    # localhost, not 127.0.0.1: moto reads a "127..." host in a template URL as an S3 bucket.
    return f"http://localhost:{port}"


def serve(port: int = 0, fd: int | None = None) -> None:
    """Serve on ``port``, or on the listening socket ``fd`` handed down by the process that
    started this one (the drill's way: the port is held from the moment it was chosen)."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    apply_patches()
    # Binding (when no socket is handed down) happens here, before anything is printed: a port
    # taken by another process ends this one with werkzeug's message and status 1.
    server = make_server("127.0.0.1", port, DomainDispatcherApplication(create_backend_app),
                         threaded=True, request_handler=MotoRequestHandler, fd=fd)
    print(f"AWS simulator (moto {MOTO_VERSION}) on {endpoint(server.port)}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


def is_serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(endpoint(port) + "/moto-api/", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.awssim")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=int, help="listen on 127.0.0.1 at this port")
    where.add_argument("--fd", type=int, help="serve this inherited, listening socket")
    args = parser.parse_args(argv)
    serve(port=args.port or 0, fd=args.fd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
