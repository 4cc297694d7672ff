//! Permanent versus transient AWS failures, decided here and nowhere else.
//!
//! Transient (the webhook answers 503, the relay retries the record): the service is
//! unavailable, throttled, timed out, or misconfigured in a way an operator fixes (a missing
//! table or queue, a denied permission): retrying the same request can succeed. Permanent
//! (the webhook quarantines the body and answers 200, the relay parks the record on the
//! quarantine queue; both counted and alarmed): the request itself is refused and every
//! retry would be refused again: a key or item DynamoDB cannot store, a message SQS will
//! not take, an item this code cannot read, a request the SDK cannot build.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::ports::BackendError;

/// Error codes that mean "this request can never succeed", by service.
const PERMANENT_CODES: [&str; 6] = [
    // DynamoDB: a key too long, an item over 400 KB, an invalid attribute value.
    "ValidationException",
    "SerializationException",
    // SQS: characters or a size it does not accept.
    "InvalidMessageContents",
    "InvalidParameterValue",
    "MessageTooLong",
    "InvalidAttributeValue",
];

/// Classifies a failed SDK call: `why` is what to tell the sender if it is permanent.
pub fn classify<E, R>(
    operation: &'static str,
    why: &'static str,
    error: SdkError<E, R>,
) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let permanent = match &error {
        SdkError::ServiceError(e) => e.err().code().is_some_and(|c| PERMANENT_CODES.contains(&c)),
        SdkError::ConstructionFailure(_) => true,
        // Timeouts, connection failures, unreadable responses: they may pass.
        _ => false,
    };
    match permanent {
        true => BackendError::permanent(operation, why, error),
        false => BackendError::new(operation, error),
    }
}

/// A DynamoDB conditional write's outcome: `Ok(true)` written, `Ok(false)` its condition
/// did not hold, else the failure, classified.
pub fn condition_held<O, E, R>(
    result: Result<O, SdkError<E, R>>,
    operation: &'static str,
    why: &'static str,
) -> Result<bool, BackendError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e))
            if e.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(classify(operation, why, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(code: &str) -> SdkError<PutItemError, HttpResponse> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("details")
            .build();
        let status = StatusCode::try_from(400).unwrap_or_else(|_| unreachable!());
        SdkError::service_error(
            PutItemError::generic(meta),
            HttpResponse::new(status, SdkBody::empty()),
        )
    }

    #[test]
    fn a_request_dynamodb_or_sqs_refuses_for_good_is_permanent() {
        for code in ["ValidationException", "InvalidMessageContents"] {
            let error = classify("op", "cannot be stored", service_error(code));
            assert_eq!(error.permanent, Some("cannot be stored"), "{code}");
        }
    }

    #[test]
    fn unavailable_throttled_or_misconfigured_is_transient() {
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
            "InternalServerError",
            "ServiceUnavailable",
            "ResourceNotFoundException",
            "AccessDeniedException",
        ] {
            assert!(
                !classify("op", "x", service_error(code)).is_permanent(),
                "{code}"
            );
        }
        let timeout: SdkError<PutItemError, HttpResponse> =
            SdkError::timeout_error("took too long");
        assert!(!classify("op", "x", timeout).is_permanent());
    }

    #[test]
    fn a_condition_that_did_not_hold_is_not_a_failure() {
        let held = |result: Result<(), _>| condition_held(result, "op", "refused");
        assert!(matches!(held(Ok(())), Ok(true)));
        let failed = held(Err(service_error("ConditionalCheckFailedException")));
        assert!(matches!(failed, Ok(false)));
        let refused = held(Err(service_error("ValidationException")));
        assert_eq!(
            refused.map_err(|e| e.permanent).err(),
            Some(Some("refused"))
        );
        assert!(held(Err(service_error("ThrottlingException"))).is_err_and(|e| !e.is_permanent()));
    }
}
