//! Service errors as Key Vault sends them: `{"error":{"code","message","innererror"?}}`.

use serde_json::json;

use crate::http::Response;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub inner: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            inner: None,
        }
    }

    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadParameter", message)
    }

    pub fn forbidden(inner: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            inner: Some(inner),
            ..ApiError::new(403, "Forbidden", message)
        }
    }

    pub fn key_not_found(name: &str) -> ApiError {
        ApiError::new(
            404,
            "KeyNotFound",
            format!(
                "A key with (name/id) {name} was not found in this key vault. If you recently \
                 deleted this key you may be able to recover it using the correct recovery \
                 command. For help resolving this issue, please see \
                 https://go.microsoft.com/fwlink/?linkid=2125182"
            ),
        )
    }

    pub fn response(&self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(inner) = self.inner {
            error["innererror"] = json!({ "code": inner });
        }
        Response::json(self.status, &json!({ "error": error }))
    }
}
