//! One module per Lambda trigger: API Gateway for the webhook ([`http`]), the lead table's
//! DynamoDB stream for the relay ([`stream`]).

pub mod http;
pub mod stream;
