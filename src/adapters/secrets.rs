//! The webhook's client secrets in Secrets Manager: the secret's value is the list,
//! comma- or newline-separated (docs/deploy.md, "Rotation").

use aws_sdk_secretsmanager::Client;

use crate::adapters::failure::classify;
use crate::core::signature::Secret;
use crate::ports::{BackendError, WebhookSecrets};

#[derive(Debug, Clone)]
pub struct SecretsManagerSecrets {
    client: Client,
    arn: String,
}

impl SecretsManagerSecrets {
    pub fn new(client: Client, arn: impl Into<String>) -> Self {
        Self {
            client,
            arn: arn.into(),
        }
    }
}

impl WebhookSecrets for SecretsManagerSecrets {
    async fn read(&self) -> Result<Vec<Secret>, BackendError> {
        let operation = "Secrets Manager GetSecretValue";
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.arn)
            .send()
            .await
            .map_err(|e| classify(operation, "the secret cannot be read", e))?;
        let value = output.secret_string().ok_or_else(|| {
            BackendError::permanent(
                operation,
                "the secret has no string value",
                "no SecretString",
            )
        })?;
        Secret::parse_list(value).map_err(|e| {
            BackendError::permanent(operation, "the secret is not a list of secrets", e)
        })
    }
}
