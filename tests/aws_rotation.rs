//! A secret rotated without a deploy (docs/contract.md §6), on moto's Secrets Manager: a warm
//! webhook instance, built as deployed, accepts a secret added to the secret after it
//! started; a burst and a flood of wrong signatures read the secret once.

mod support;

use call_events::adapters::{DynamoLeadStore, SecretsManagerSecrets};
use call_events::config::{Config, SecretSource};
use call_events::core::signature::{Secret, Verifier};
use call_events::entrypoints::http::WebhookHandler;
use call_events::usecases::keyring::Keyring;
use call_events::usecases::record::CallEventRecorder;
use support::aws::{TestAws, deliver, resign, sample};
use support::fault_proxy::FaultProxy;

const OLD: &str = "rotation-old-secret-0123";
const NEW: &str = "rotation-new-secret-0123";

async fn secret_with(aws: &TestAws, name: &str, value: &str) -> String {
    aws_sdk_secretsmanager::Client::new(&aws.sdk)
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap()
}

async fn put(aws: &TestAws, arn: &str, value: &str) {
    aws_sdk_secretsmanager::Client::new(&aws.sdk)
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .send()
        .await
        .unwrap();
}

fn event(secret: &str, n: u32) -> serde_json::Value {
    let mut event = sample("02-call-received.json");
    event["body"] = serde_json::Value::from(support::body(
        "lead.call_received",
        "rotation",
        &format!("2024-01-28T12:00:{n:02}Z"),
        "+12025550950",
        "",
    ));
    event["isBase64Encoded"] = serde_json::Value::from(false);
    resign(event, secret)
}

#[tokio::test]
async fn a_warm_instance_accepts_a_secret_added_in_secrets_manager_without_a_deploy() {
    let aws = TestAws::new().await;
    let arn = secret_with(&aws, &format!("{}-webhook", aws.resources.table_name), OLD).await;
    let config = Config {
        secrets: SecretSource::SecretsManager { arn: arn.clone() },
        ..aws.config(&[OLD])
    };
    let webhook = call_events::app::build(&config, &aws.sdk).await.unwrap();
    assert_eq!(deliver(&webhook, &event(OLD, 0)).await.0, 200, "warm");
    // Step 1 of the rotation: the new secret is added beside the old one. No deploy.
    put(&aws, &arn, &format!("{NEW},{OLD}")).await;
    // Step 2: the platform signs with the new one.
    let (status, answer) = deliver(&webhook, &event(NEW, 1)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        deliver(&webhook, &event(OLD, 2)).await.0,
        200,
        "the old one still holds"
    );
}

#[tokio::test]
async fn a_burst_and_a_flood_of_wrong_signatures_read_the_secret_once() {
    let aws = TestAws::new().await;
    let arn = secret_with(&aws, &format!("{}-webhook", aws.resources.table_name), OLD).await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let conf =
        aws_sdk_secretsmanager::config::Builder::from(&aws.sdk).endpoint_url(&proxy.endpoint);
    let secrets = SecretsManagerSecrets::new(
        aws_sdk_secretsmanager::Client::from_conf(conf.build()),
        &arn,
    );
    let webhook = WebhookHandler::with_keyring(
        Keyring::new(
            Verifier::new(vec![Secret::new(OLD).unwrap()], 300),
            Some(secrets),
        ),
        CallEventRecorder::new(DynamoLeadStore::new(
            aws.dynamodb.clone(),
            &aws.resources.table_name,
        )),
    );
    put(&aws, &arn, &format!("{NEW},{OLD}")).await;
    let burst = (0..20).map(|n| event(NEW, n));
    let burst: Vec<_> = burst.collect();
    let answers = futures::future::join_all(burst.iter().map(|e| deliver(&webhook, e))).await;
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    assert_eq!(proxy.calls(), 1, "one read for the burst");
    for n in 0..50 {
        let (status, _) = deliver(&webhook, &event("somebody-elses-secret-01", n)).await;
        assert_eq!(status, 401);
    }
    assert_eq!(proxy.calls(), 1, "a flood within 30 s reads nothing more");
}
