//! What SAM's transform makes of `template.yaml`, offline (`scripts/transform.py`, the
//! samtranslator library the CloudFormation transform runs): a version and an alias per
//! function; the webhook's CodeDeploy group with its four gates and rollback on alarm; no
//! deployment group for the relay; every event source mapping, the schedule and API
//! Gateway's permission on the alias; no IAM wildcard. CI lints the output with cfn-lint.
//! Also: the dashboard's body is the one `scripts/dashboard.py` writes.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::{Value, json};

mod support;

/// Runs one of the project's Python scripts with the project's `.venv`; its stdout, once it
/// has succeeded.
fn run_script(script: &str, args: &[&str]) -> Vec<u8> {
    let root = env!("CARGO_MANIFEST_DIR");
    let python = format!("{root}/.venv/bin/python");
    assert!(
        std::path::Path::new(&python).exists(),
        "no .venv: run the tests with `bash scripts/test.sh` (it installs the Python tools)"
    );
    let output = Command::new(python)
        .arg(format!("{root}/scripts/{script}"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn transformed() -> Value {
    transform(&[])
}

fn transform(flags: &[&str]) -> Value {
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    let args: Vec<&str> = flags.iter().copied().chain([template]).collect();
    serde_json::from_slice(&run_script("transform.py", &args)).unwrap()
}

fn of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// The other tests read the template through `support::template`, which expands its
/// `Fn::ForEach` loops itself: it must make, to the letter, the alarms SAM CLI's
/// implementation of AWS::LanguageExtensions makes.
#[test]
fn the_tests_read_the_alarms_cloudformation_expands() {
    /// YAML's short forms as the JSON they stand for (`!GetAtt A.B` -> `["A", "B"]`).
    fn cfn(v: &serde_yaml_ng::Value) -> Value {
        use serde_yaml_ng::Value as Yaml;
        match v {
            Yaml::Tagged(t) => {
                let tag = t.tag.to_string();
                let tag = tag.trim_start_matches('!');
                match (tag, &t.value) {
                    ("GetAtt", Yaml::String(s)) => {
                        let (resource, attribute) = s.split_once('.').unwrap();
                        json!({ "Fn::GetAtt": [resource, attribute] })
                    }
                    ("Ref", value) => json!({ "Ref": cfn(value) }),
                    (tag, value) => json!({ format!("Fn::{tag}"): cfn(value) }),
                }
            }
            Yaml::Sequence(items) => items.iter().map(cfn).collect(),
            Yaml::Mapping(entries) => entries
                .iter()
                .map(|(k, v)| (support::template::text(k), cfn(v)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            other => serde_json::to_value(other).unwrap(),
        }
    }
    let theirs = transform(&["--expanded"]);
    let expected: BTreeMap<&String, &Value> = of_type(&theirs, "AWS::CloudWatch::Alarm")
        .into_iter()
        .collect();
    let template = cfn(&support::template::template());
    let actual: BTreeMap<&String, &Value> = of_type(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .collect();
    assert_eq!(actual.len(), 28, "{:?}", actual.keys());
    assert_eq!(actual, expected);
}

/// The dashboard's body is written from its panels by `scripts/dashboard.py`.
#[test]
fn the_dashboard_is_what_its_source_writes() {
    run_script("dashboard.py", &["--check"]);
}

#[test]
fn each_function_has_a_version_and_the_alias_live_on_it() {
    let t = transformed();
    for function in ["WebhookFunction", "RelayFunction"] {
        let alias = &t["Resources"][format!("{function}Aliaslive")];
        assert_eq!(alias["Type"], "AWS::Lambda::Alias", "{function}");
        assert_eq!(alias["Properties"]["Name"], "live");
        let version = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap();
        assert!(
            version.starts_with(&format!("{function}Version")),
            "{version}"
        );
        assert_eq!(t["Resources"][version]["Type"], "AWS::Lambda::Version");
    }
}

#[test]
fn the_webhooks_deployment_group_rolls_back_on_its_four_gates_and_the_relay_has_none() {
    let t = transformed();
    let groups = of_type(&t, "AWS::CodeDeploy::DeploymentGroup");
    assert_eq!(groups.len(), 1, "the webhook's only");
    let (name, group) = groups[0];
    assert_eq!(name, "WebhookFunctionDeploymentGroup");
    let gates: BTreeSet<&str> = group["Properties"]["AlarmConfiguration"]["Alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Name"]["Ref"].as_str().unwrap())
        .collect();
    assert_eq!(
        gates,
        BTreeSet::from([
            "WebhookCanaryErrorsAlarm",
            "WebhookCanaryBackendErrorsAlarm",
            "WebhookCanaryPermanentFailuresAlarm",
            "WebhookCanaryUnauthorizedAlarm",
        ])
    );
    assert_eq!(group["Properties"]["AlarmConfiguration"]["Enabled"], true);
    let events = &group["Properties"]["AutoRollbackConfiguration"]["Events"];
    assert!(
        events
            .as_array()
            .unwrap()
            .contains(&json!("DEPLOYMENT_STOP_ON_ALARM"))
    );
    let alias = &t["Resources"]["WebhookFunctionAliaslive"];
    assert_eq!(
        alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"]["Ref"],
        "WebhookFunctionDeploymentGroup"
    );
    assert!(
        t["Resources"]["RelayFunctionAliaslive"]["UpdatePolicy"].is_null(),
        "the relay's alias moves in one step"
    );
}

#[test]
fn every_trigger_invokes_an_alias() {
    let t = transformed();
    let mappings = of_type(&t, "AWS::Lambda::EventSourceMapping");
    assert_eq!(mappings.len(), 2);
    for (name, mapping) in mappings {
        assert_eq!(
            mapping["Properties"]["FunctionName"],
            json!({"Ref": "RelayFunctionAliaslive"}),
            "{name}"
        );
    }
    let rules = of_type(&t, "AWS::Events::Rule");
    assert_eq!(rules.len(), 1);
    assert_eq!(
        rules[0].1["Properties"]["Targets"][0]["Arn"],
        json!({"Ref": "RelayFunctionAliaslive"})
    );
    assert_eq!(
        rules[0].1["Properties"]["ScheduleExpression"],
        "rate(1 minute)"
    );
    for (name, permission) in of_type(&t, "AWS::Lambda::Permission") {
        let target = permission["Properties"]["FunctionName"].to_string();
        assert!(target.contains("Aliaslive"), "{name}: {target}");
    }
}

#[test]
fn a_sweep_that_failed_is_not_retried_over_the_next_one() {
    let t = transformed();
    let configs = of_type(&t, "AWS::Lambda::EventInvokeConfig");
    assert_eq!(configs.len(), 1, "{configs:?}");
    let properties = &configs[0].1["Properties"];
    assert_eq!(properties["FunctionName"], json!({"Ref": "RelayFunction"}));
    assert_eq!(properties["Qualifier"], "live");
    assert_eq!(properties["MaximumRetryAttempts"], 0);
    assert_eq!(properties["MaximumEventAgeInSeconds"], 60);
}

#[test]
fn no_role_is_allowed_a_wildcard() {
    let t = transformed();
    let roles = of_type(&t, "AWS::IAM::Role");
    assert!(roles.len() >= 3);
    for (name, role) in roles {
        for policy in role["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for statement in policy["PolicyDocument"]["Statement"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let listed = |field: &str| -> Vec<String> {
                    match &statement[field] {
                        Value::Array(items) => items.iter().map(Value::to_string).collect(),
                        Value::Null => Vec::new(),
                        one => vec![one.to_string()],
                    }
                };
                for action in listed("Action") {
                    assert!(
                        !action.contains('*'),
                        "{name}: action {action} is a wildcard"
                    );
                }
                for resource in listed("Resource") {
                    assert_ne!(resource, "\"*\"", "{name}: every resource");
                }
            }
        }
        // Only AWS's basic execution and X-Ray write policies are attached as managed ones
        // (the CodeDeploy role: AWS's role for Lambda deployments).
        for arn in role["Properties"]["ManagedPolicyArns"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let arn = arn.to_string();
            assert!(
                [
                    "AWSLambdaBasicExecutionRole",
                    "AWSXrayWriteOnlyAccess",
                    "AWSCodeDeployRoleForLambda"
                ]
                .iter()
                .any(|allowed| arn.contains(allowed)),
                "{name}: {arn}"
            );
        }
    }
}

/// The register's routes (docs/contract.md §9) are authorized by AWS IAM, each one, and
/// the platform's webhook route is not (its HMAC is checked in the function); the managed
/// policy a dialer attaches may invoke those two routes and nothing else, and the API's
/// function may only read the register.
#[test]
fn the_register_s_routes_are_authorized_by_aws_iam_and_the_ask_policy_is_the_least() {
    let t = transformed();
    let apis = of_type(&t, "AWS::ApiGatewayV2::Api");
    assert_eq!(apis.len(), 1);
    let body = &apis[0].1["Properties"]["Body"];
    assert_eq!(
        body["components"]["securitySchemes"]["AWS_IAM"]["x-amazon-apigateway-authtype"],
        json!("awsSigv4")
    );
    let mut routes = BTreeMap::new();
    for (path, methods) in body["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            routes.insert(format!("{method} {path}"), operation["security"].clone());
        }
    }
    let iam = json!([{ "AWS_IAM": [] }]);
    assert_eq!(routes["get /v1/opt-outs/{phone}"], iam);
    assert_eq!(routes["post /v1/opt-outs/check"], iam);
    assert_eq!(routes["post /v1/opt-outs"], iam);
    for (route, security) in &routes {
        if route.contains(" /v1/") {
            assert_eq!(security, &iam, "{route} must be authorized by AWS IAM");
        }
    }
    assert_eq!(
        routes["x-amazon-apigateway-any-method /call-events"],
        Value::Null,
        "the webhook's route stays open to the platform"
    );

    let resources = invoked_routes(&t, "RegisterAskPolicy");
    let api = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebhookApi}";
    assert_eq!(
        resources,
        [
            format!("{api}/*/GET/v1/opt-outs/*"),
            format!("{api}/*/POST/v1/opt-outs/check"),
        ]
    );

    // Who hears opt-outs may record one, and ask; nothing else.
    let resources = invoked_routes(&t, "RegisterRecordPolicy");
    assert_eq!(
        resources,
        [
            format!("{api}/*/POST/v1/opt-outs"),
            format!("{api}/*/GET/v1/opt-outs/*"),
            format!("{api}/*/POST/v1/opt-outs/check"),
        ]
    );

    let role = &t["Resources"]["RegisterApiFunctionRole"]["Properties"]["Policies"];
    let statements: Vec<&Value> = role
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
        .collect();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert_eq!(
        statements[0]["Action"],
        json!([
            "dynamodb:BatchGetItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem"
        ])
    );
    assert_eq!(
        statements[0]["Resource"],
        json!({"Fn::GetAtt": ["DncRegisterTable", "Arn"]})
    );
}

/// The routes a managed policy of the template allows to invoke: it must be one statement
/// allowing `execute-api:Invoke` and nothing else.
fn invoked_routes(t: &Value, policy: &str) -> Vec<String> {
    let policy = &t["Resources"][policy];
    assert_eq!(policy["Type"], json!("AWS::IAM::ManagedPolicy"));
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Effect"], json!("Allow"));
    assert_eq!(statements[0]["Action"], json!(["execute-api:Invoke"]));
    statements[0]["Resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Fn::Sub"].as_str().unwrap().to_owned())
        .collect()
}
