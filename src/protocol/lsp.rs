//! The language server's JSON-RPC bodies (`relais flows lsp`): `lsp-server` carries
//! params and results as JSON values, and `lsp-types` gives their shapes. These two
//! conversions are the only JSON the language server touches.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A JSON-RPC value, as `lsp-server` carries it.
pub type Value = serde_json::Value;

/// A message's params read as `T`; `None` when they do not fit (the message is ignored).
pub fn params<T: DeserializeOwned>(value: Value) -> Option<T> {
    serde_json::from_value(value).ok()
}

/// A result or capabilities as a JSON-RPC value (`null` if it could not be encoded,
/// which the `lsp-types` shapes never cause).
pub fn value<T: Serialize>(body: &T) -> Value {
    serde_json::to_value(body).unwrap_or(Value::Null)
}
