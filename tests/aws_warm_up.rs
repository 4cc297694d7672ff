//! The webhook opens its connection to DynamoDB at init (one `DescribeTable`, which its role
//! allows on its table alone), so that the first delivery does not pay for TCP and TLS; an
//! endpoint that does not answer does not stop the start (the warm-up gives up within a
//! second).

mod support;

use call_events::adapters::DynamoLeadStore;
use support::aws::{CLOSED_ENDPOINT, TestAws};

#[tokio::test]
async fn the_connection_is_opened_at_init_and_a_dead_endpoint_does_not_hold_the_start() {
    let aws = TestAws::new().await;
    let store = DynamoLeadStore::new(aws.dynamodb.clone(), &aws.resources.table_name);
    assert!(
        store.warm_up().await,
        "DescribeTable of the lead table answered"
    );

    let closed = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&aws.sdk)
            .endpoint_url(CLOSED_ENDPOINT)
            .build(),
    );
    let warmed = DynamoLeadStore::new(closed, &aws.resources.table_name)
        .warm_up()
        .await;
    assert!(!warmed, "a start that goes on without the connection");
}
