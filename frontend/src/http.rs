//! The few HTTP calls the lab makes (creating, deleting, producing, the generator switch),
//! and the class token they carry.
//!
//! In class mode a student signs in once with the token the teacher handed out; it stays in
//! the browser's storage and goes with every call (`Authorization: Bearer`) and, where a
//! browser cannot set headers (the websocket, download links), as `?token=`.

use streamlab_wire::ApiError;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// Sends `body` (JSON) with `method` to `path`; the response's text, or the API's error
/// message.
pub async fn call(method: &str, path: &str, body: Option<String>) -> Result<String, String> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(b) = &body {
        init.set_body(&wasm_bindgen::JsValue::from_str(b));
    }
    let request = Request::new_with_str_and_init(path, &init).map_err(|_| "cannot build the request".to_owned())?;
    if body.is_some() {
        let _ = request.headers().set("content-type", "application/json");
    }
    if let Some(t) = token() {
        let _ = request.headers().set("authorization", &format!("Bearer {t}"));
    }
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| "the server did not answer".to_owned())?
        .dyn_into()
        .map_err(|_| "not a response".to_owned())?;
    let text = match response.text() {
        Ok(p) => JsFuture::from(p).await.ok().and_then(|t| t.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    };
    if response.ok() {
        Ok(text)
    } else {
        Err(serde_json::from_str::<ApiError>(&text)
            .map(|e| e.error)
            .unwrap_or_else(|_| format!("HTTP {}", response.status())))
    }
}

pub async fn get<T: serde::de::DeserializeOwned>(path: &str) -> Result<T, String> {
    let text = call("GET", path, None).await?;
    serde_json::from_str(&text).map_err(|e| format!("unexpected answer: {e}"))
}

const TOKEN_KEY: &str = "streamlab-token";

/// The browser's local storage (the token, saved filters).
pub fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The token this browser signed in with, if any.
pub fn token() -> Option<String> {
    storage().and_then(|s| s.get_item(TOKEN_KEY).ok().flatten()).filter(|t| !t.is_empty())
}

/// Keeps `token` for every later call, or forgets it.
pub fn set_token(token: Option<&str>) {
    if let Some(s) = storage() {
        let _ = match token {
            Some(t) => s.set_item(TOKEN_KEY, t),
            None => s.remove_item(TOKEN_KEY),
        };
    }
}

/// `path` with the token as a query parameter, for what the browser fetches by itself.
pub fn with_token(path: &str) -> String {
    match token() {
        Some(t) => {
            let joiner = if path.contains('?') { '&' } else { '?' };
            format!("{path}{joiner}token={}", js_sys::encode_uri_component(&t))
        }
        None => path.to_owned(),
    }
}
