//! Reading the topic page's forms: a field's text, and header lines.

use streamlab_wire::Header;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::NodeRef;

/// What an input holds now.
pub fn input(n: &NodeRef) -> String {
    n.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default()
}

/// What a text area holds now.
pub fn area(n: &NodeRef) -> String {
    n.cast::<HtmlTextAreaElement>().map(|i| i.value()).unwrap_or_default()
}

/// Headers typed one `key=value` per line (a line without `=` is a header with no value).
pub fn header_lines(text: &str) -> Vec<Header> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) => Header { key: k.trim().into(), value: Some(v.trim().into()) },
            None => Header { key: l.trim().into(), value: None },
        })
        .collect()
}

/// Headers as `header_lines` reads them back.
pub fn as_lines(headers: &[Header]) -> String {
    headers.iter().map(|h| format!("{}={}\n", h.key, h.value.clone().unwrap_or_default())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_read_back_what_they_wrote() {
        let headers = header_lines("a=1\n\n b = two \nflag\n");
        assert_eq!(
            headers,
            [
                Header { key: "a".into(), value: Some("1".into()) },
                Header { key: "b".into(), value: Some("two".into()) },
                Header { key: "flag".into(), value: None },
            ]
        );
        assert_eq!(header_lines(&as_lines(&headers[..2])), headers[..2]);
    }
}
