//! The few HTTP calls the lab makes (creating, deleting, producing, the generator switch).

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
