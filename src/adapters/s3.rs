//! The relay's on-failure bucket on S3: Lambda writes there the invocation record of each
//! stream batch it gave up on, with the batch's records; the redrive reads them back.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;

use crate::adapters::failure::classify;
use crate::ports::{BackendError, FailureArchive};

#[derive(Debug, Clone)]
pub struct S3FailureArchive {
    client: Client,
}

impl S3FailureArchive {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl FailureArchive for S3FailureArchive {
    async fn fetch(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
        let operation = "S3 GetObject (a given-up stream batch)";
        let object = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
            Err(e) => return Err(classify(operation, "S3 refuses the object's key", e)),
        };
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| BackendError::new(operation, e))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }
}
