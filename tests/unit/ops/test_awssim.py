"""The deploy drill's AWS simulator: each patch of moto is still needed (unpatched moto has the
gap) and fills it, on the pinned moto. When moto fills a gap itself, the "still needed" test
fails: drop that patch."""
import json
import re

import boto3
import moto
import pytest
from moto import mock_aws

from devstack import awssim
from devstack.servers import ROOT

REGION = "us-east-1"


@pytest.fixture
def aws():
    """In-process moto, unpatched; ``aws.patched()`` applies the simulator's patches."""
    class Aws:
        def client(self, service):
            return boto3.client(service, region_name=REGION, aws_access_key_id="t",
                                aws_secret_access_key="t")

        def patched(self):
            awssim.apply_patches()

    with mock_aws():
        yield Aws()
    awssim.remove_patches()


def test_the_patches_are_written_for_the_pinned_moto():
    assert moto.__version__ == awssim.MOTO_VERSION
    pins = (ROOT / "requirements-dev.txt").read_text()
    assert re.search(rf"^moto\[[^\]]*server[^\]]*\]=={re.escape(awssim.MOTO_VERSION)}$", pins, re.M)


def test_removing_the_patches_restores_moto():
    from moto.apigateway.models import APIGatewayBackend
    from moto.cloudformation.parsing import get_model_map

    before = APIGatewayBackend.__dict__["put_rest_api"]
    awssim.apply_patches()
    assert APIGatewayBackend.__dict__["put_rest_api"] is not before
    assert "AWS::CloudWatch::Alarm" in get_model_map()
    awssim.remove_patches()
    assert APIGatewayBackend.__dict__["put_rest_api"] is before
    assert "AWS::CloudWatch::Alarm" not in get_model_map()


# --- API Gateway: Chalice's Swagger 2.0 --------------------------------------------------------

SWAGGER = {
    "swagger": "2.0",
    "info": {"version": "1.0", "title": "eso"},
    "schemes": ["https"],
    "paths": {"/healthz": {"get": {
        "responses": {"200": {"description": "200 response"}},
        "x-amazon-apigateway-integration": {
            "type": "aws_proxy", "httpMethod": "POST",
            "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                   "arn:aws:lambda:us-east-1:123456789012:function:eso-dev/invocations"}}}},
}


def test_unpatched_moto_refuses_chalices_swagger(aws):
    with pytest.raises(KeyError, match="description"):  # then: "Only OpenAPI 3.x.x"
        aws.client("apigateway").import_rest_api(body=json.dumps(SWAGGER).encode())


def test_the_patch_imports_chalices_swagger(aws):
    aws.patched()
    client = aws.client("apigateway")
    api = client.import_rest_api(body=json.dumps(SWAGGER).encode())
    assert api["name"] == "eso"
    resources = client.get_resources(restApiId=api["id"], embed=["methods"])["items"]
    healthz = next(r for r in resources if r["path"] == "/healthz")
    integration = healthz["resourceMethods"]["GET"]["methodIntegration"]
    assert "function:eso-dev/invocations" in integration["uri"]


# --- CloudFormation: the SAM transform, dependency order, REST API body, role policies ---------

def _deploy(aws, template: dict, name: str = "drill") -> dict:
    """A change set created and executed, as `aws cloudformation deploy` does."""
    cfn = aws.client("cloudformation")
    change_set = cfn.create_change_set(StackName=name, ChangeSetName="one",
                                       ChangeSetType="CREATE",
                                       TemplateBody=json.dumps(template),
                                       Capabilities=["CAPABILITY_IAM"])
    cfn.execute_change_set(ChangeSetName=change_set["Id"])
    return cfn.describe_stacks(StackName=name)["Stacks"][0]


ROLE = {"Type": "AWS::IAM::Role", "Properties": {
    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
         "Action": "sts:AssumeRole"}]},
    "Policies": [{"PolicyName": "own", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}]}}]}}


def _sam_template(code_uri: str) -> dict:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Role": ROLE,
            "Worker": {"Type": "AWS::Serverless::Function", "DependsOn": ["Queue"], "Properties": {
                "FunctionName": "drill-worker", "Runtime": "python3.11", "Handler": "app.app",
                "CodeUri": code_uri, "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Events": {"Sends": {"Type": "SQS", "Properties": {
                    "Queue": {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:"
                                         "${AWS::AccountId}:drill-sends"},
                    "BatchSize": 1}}}}},
            # Last, and named by a literal ARN above: only DependsOn orders it first.
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "drill-sends"}},
        },
    }


@pytest.fixture
def code(aws) -> str:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def app(event, context):\n    return event\n")
    aws.client("s3").create_bucket(Bucket="drill-code")
    aws.client("s3").put_object(Bucket="drill-code", Key="code.zip", Body=buffer.getvalue())
    return "s3://drill-code/code.zip"


def test_unpatched_moto_ignores_the_sam_transform(aws, code):
    _deploy(aws, _sam_template(code))  # "succeeds", skipping AWS::Serverless::Function
    names = [f["FunctionName"] for f in aws.client("lambda").list_functions()["Functions"]]
    assert "drill-worker" not in names


def test_the_patch_expands_sam_and_creates_in_dependency_order(aws, code):
    aws.patched()
    _deploy(aws, _sam_template(code))
    function = aws.client("lambda").get_function_configuration(FunctionName="drill-worker")
    assert function["Handler"] == "app.app"
    mappings = aws.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert [m["EventSourceArn"].rsplit(":", 1)[1] for m in mappings] == ["drill-sends"]


def test_dependency_order_follows_depends_on_and_references():
    resources = {
        "Mapping": {"Properties": {"FunctionName": {"Ref": "Function"}}},
        "Function": {"DependsOn": "Queue", "Properties": {
            "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Name": {"Fn::Sub": "${Topic.TopicName}"}}},
        "Role": {"Properties": {}},
        "Topic": {"Properties": {}},
        "Queue": {"Properties": {}},
    }
    order = awssim.in_dependency_order(list(resources), resources)
    assert order.index("Queue") < order.index("Function") < order.index("Mapping")
    assert order.index("Role") < order.index("Function")
    assert order.index("Topic") < order.index("Function")
    assert sorted(order) == sorted(resources)


def test_unpatched_moto_keeps_a_roles_inline_policy_unreadable(aws):
    _deploy(aws, {"Resources": {"Role": ROLE}})
    iam = aws.client("iam")
    role = iam.list_roles()["Roles"][0]["RoleName"]
    document = iam.get_role_policy(RoleName=role, PolicyName="own")["PolicyDocument"]
    assert not isinstance(document, dict)  # Python's repr of the mapping, not JSON


def test_the_patch_keeps_a_roles_inline_policy_as_json(aws):
    aws.patched()
    _deploy(aws, {"Resources": {"Role": ROLE}})
    iam = aws.client("iam")
    role = iam.list_roles()["Roles"][0]["RoleName"]
    document = iam.get_role_policy(RoleName=role, PolicyName="own")["PolicyDocument"]
    assert document == ROLE["Properties"]["Policies"][0]["PolicyDocument"]


REST_API = {"Resources": {"Api": {"Type": "AWS::ApiGateway::RestApi",
                                  "Properties": {"Body": SWAGGER}}}}


def test_unpatched_moto_needs_a_name_for_a_rest_api(aws):
    with pytest.raises(KeyError, match="Name"):
        _deploy(aws, REST_API)
    assert aws.client("apigateway").get_rest_apis()["items"] == []


def test_the_patch_creates_a_rest_api_from_its_body(aws):
    aws.patched()
    _deploy(aws, REST_API)
    client = aws.client("apigateway")
    (api,) = client.get_rest_apis()["items"]
    assert api["name"] == "eso"
    assert "/healthz" in [r["path"] for r in client.get_resources(restApiId=api["id"])["items"]]


# --- CloudFormation: types moto's API has but its CloudFormation skips --------------------------

def _stack_with_skipped_types() -> dict:
    alarm = {"AlarmName": "drill-dlq", "Namespace": "AWS/SQS",
             "MetricName": "ApproximateNumberOfMessagesVisible",
             "Dimensions": [{"Name": "QueueName", "Value": "drill-dlq"}], "Statistic": "Maximum",
             "Period": 300, "EvaluationPeriods": 1, "Threshold": 0,
             "ComparisonOperator": "GreaterThanThreshold", "AlarmActions": [{"Ref": "Topic"}]}
    math_alarm = {"AlarmName": "drill-math", "EvaluationPeriods": 1, "Threshold": 1,
                  "ComparisonOperator": "GreaterThanOrEqualToThreshold", "Metrics": [
                      {"Id": "sum", "Expression": "reads + writes"},
                      {"Id": "reads", "ReturnData": False, "MetricStat": {
                          "Stat": "Sum", "Period": 300, "Metric": {
                              "Namespace": "AWS/DynamoDB", "MetricName": "ReadThrottleEvents",
                              "Dimensions": [{"Name": "TableName", "Value": "t"}]}}},
                      {"Id": "writes", "ReturnData": False, "MetricStat": {
                          "Stat": "Sum", "Period": 300, "Metric": {
                              "Namespace": "AWS/DynamoDB", "MetricName": "WriteThrottleEvents",
                              "Dimensions": [{"Name": "TableName", "Value": "t"}]}}}]}
    return {"Resources": {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "drill-topic"}},
        "Subscription": {"Type": "AWS::SNS::Subscription", "Properties": {
            "TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": "a@drill.example"}},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": alarm},
        "MathAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": math_alarm},
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "eso"}},
        "Method": {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": {"Ref": "Api"}, "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
            "HttpMethod": "GET", "AuthorizationType": "NONE", "Integration": {
                "Type": "MOCK", "IntegrationHttpMethod": "GET", "Uri": ""}}},
        "Deployment": {"Type": "AWS::ApiGateway::Deployment", "DependsOn": ["Method"],
                       "Properties": {"RestApiId": {"Ref": "Api"}}},
        "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {
            "RestApiId": {"Ref": "Api"}, "StageName": "api", "DeploymentId": {"Ref": "Deployment"}}},
        "NotFound": {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": {
            "RestApiId": {"Ref": "Api"}, "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
            "StatusCode": "404", "ResponseTemplates": {"application/json": "{}"}}},
    }}


def _skipped_types_created(aws) -> dict:
    api = aws.client("apigateway").get_rest_apis()["items"][0]["id"]
    topic = aws.client("sns").list_topics()["Topics"][0]["TopicArn"]
    alarms = aws.client("cloudwatch").describe_alarms()["MetricAlarms"]
    return {
        "subscription": [s["Endpoint"] for s in aws.client("sns").list_subscriptions_by_topic(
            TopicArn=topic)["Subscriptions"]],
        "alarms": sorted(a["AlarmName"] for a in alarms),
        "stages": [s["stageName"] for s in aws.client("apigateway").get_stages(
            restApiId=api)["item"]],
        "gateway_responses": [r["responseType"] for r in aws.client(
            "apigateway").get_gateway_responses(restApiId=api)["items"]
            if r.get("statusCode") == "404"],
    }


def test_unpatched_moto_skips_alarms_subscriptions_stages_and_gateway_responses(aws):
    _deploy(aws, _stack_with_skipped_types())
    assert _skipped_types_created(aws) == {"subscription": [], "alarms": [], "stages": [],
                                           "gateway_responses": []}


def test_the_patch_creates_alarms_subscriptions_stages_and_gateway_responses(aws):
    aws.patched()
    _deploy(aws, _stack_with_skipped_types())
    assert _skipped_types_created(aws) == {
        "subscription": ["a@drill.example"], "alarms": ["drill-dlq", "drill-math"],
        "stages": ["api"], "gateway_responses": ["MISSING_AUTHENTICATION_TOKEN"]}
    math = aws.client("cloudwatch").describe_alarms(AlarmNames=["drill-math"])["MetricAlarms"][0]
    assert [q["Id"] for q in math["Metrics"]] == ["sum", "reads", "writes"]


# --- CloudFront stand-ins and API Gateway's compression -----------------------------------------

ASSETS_STACK = {"Resources": {
    "Access": {"Type": "AWS::CloudFront::OriginAccessControl", "Properties": {
        "OriginAccessControlConfig": {"Name": "drill", "OriginAccessControlOriginType": "s3",
                                      "SigningBehavior": "always", "SigningProtocol": "sigv4"}}},
    "Distribution": {"Type": "AWS::CloudFront::Distribution", "Properties": {
        "DistributionConfig": {"Enabled": True, "Comment": {"Fn::GetAtt": ["Access", "Id"]}}}},
    "Origin": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Name": "/drill/origin", "Type": "String",
        "Value": {"Fn::Sub": "https://${Distribution.DomainName}"}}},
}}


def test_unpatched_moto_cannot_refer_to_a_distribution(aws):
    with pytest.raises(Exception, match="undefined resource"):
        _deploy(aws, ASSETS_STACK)


def test_the_patch_gives_a_distribution_an_id_and_a_host(aws):
    aws.patched()
    _deploy(aws, ASSETS_STACK)
    origin = aws.client("ssm").get_parameter(Name="/drill/origin")["Parameter"]["Value"]
    assert re.fullmatch(r"https://e[0-9a-f]{12}\.cloudfront\.net", origin)


COMPRESSED_API = {"Resources": {"Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {
    "Body": SWAGGER, "MinimumCompressionSize": 1024}}}}


def _compression(aws, update: bool) -> list:
    client = aws.client("apigateway")
    api = client.create_rest_api(name="eso")["id"]
    if update:   # as `chalice deploy` sets it
        client.update_rest_api(restApiId=api, patchOperations=[
            {"op": "replace", "path": "/minimumCompressionSize", "value": "1024"}])
    return [client.get_rest_api(restApiId=api).get("minimumCompressionSize")]


def test_unpatched_moto_ignores_the_minimum_compression_size(aws):
    assert _compression(aws, update=True) == [None]


def test_the_patch_keeps_the_minimum_compression_size(aws):
    aws.patched()
    assert _compression(aws, update=True) == [1024]
    _deploy(aws, COMPRESSED_API)
    sizes = [a.get("minimumCompressionSize") for a in
             aws.client("apigateway").get_rest_apis()["items"]]
    assert sizes == [1024, 1024]   # the updated one and the one from the template
