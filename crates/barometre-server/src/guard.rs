//! What guards every request: login attempts limited atomically, the origin of state-changing
//! forms, the headers a public web service sends, and problem documents for the framework's own
//! rejections (a bad query string, a bad form, an unknown method).

use crate::Problem;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Login attempts tolerated per user name within [`LOCKOUT`].
pub const MAX_ATTEMPTS: u32 = 5;
/// How long a name stays locked once its attempts are spent.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Names remembered at most: past that, expired entries go first, then names not locked, then
/// the oldest (the table's memory stays bounded whatever names are tried).
pub const MAX_NAMES: usize = 10_000;

/// Failed login attempts per user name.
///
/// An attempt is counted *before* its password is checked ([`Attempts::begin`]), under one lock,
/// so that simultaneous guesses cannot all pass the limit while the first ones are being hashed;
/// a success forgets the name ([`Attempts::succeeded`]).
#[derive(Debug, Default)]
pub struct Attempts {
    names: HashMap<String, (u32, Instant)>,
}

/// Whether a login attempt may go on to the password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Proceed,
    Locked,
}

impl Attempts {
    /// Counts an attempt for `name` at `now`, unless the name is locked.
    pub fn begin(&mut self, name: &str, now: Instant) -> Verdict {
        if let Some((n, since)) = self.names.get_mut(name) {
            if now.duration_since(*since) >= LOCKOUT {
                *n = 0;
                *since = now;
            }
            if *n >= MAX_ATTEMPTS {
                return Verdict::Locked;
            }
            *n += 1;
            return Verdict::Proceed;
        }
        if self.names.len() >= MAX_NAMES {
            self.prune(now);
        }
        self.names.insert(name.to_string(), (1, now));
        Verdict::Proceed
    }

    /// The password matched: the name's attempts are forgotten.
    pub fn succeeded(&mut self, name: &str) {
        self.names.remove(name);
    }

    /// Names remembered.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    fn prune(&mut self, now: Instant) {
        self.names.retain(|_, (_, since)| now.duration_since(*since) < LOCKOUT);
        if self.names.len() >= MAX_NAMES {
            self.names.retain(|_, (n, _)| *n >= MAX_ATTEMPTS);
        }
        if self.names.len() >= MAX_NAMES {
            // Only locked names left, all recent: the older half goes.
            let mut times: Vec<Instant> = self.names.values().map(|(_, t)| *t).collect();
            times.sort_unstable();
            let cut = times[times.len() / 2];
            self.names.retain(|_, (_, t)| *t > cut);
        }
    }
}

/// Whether a state-changing form comes from this site's own pages. Browsers send `Origin` (and
/// `Sec-Fetch-Site`) with every cross-site form post: such a post is refused, which stops login
/// CSRF and forged logouts. A client that sends neither (curl, a script) is not a browser a
/// forged page could drive, and is let through.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // A browser's own word, which no page can forge, settles it where it is sent.
    if let Some(site) = get("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    let Some(host) = get("host") else { return get("origin").is_none() };
    let from = match (get("origin"), get("referer")) {
        (Some(o), _) => o,
        (None, Some(r)) => r,
        (None, None) => return true,
    };
    let Some(rest) = from.strip_prefix("https://").or_else(|| from.strip_prefix("http://")) else {
        // `Origin: null` (a sandboxed frame, a data: page) and anything else unreadable.
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.eq_ignore_ascii_case(host)
}

/// Refuses a state-changing request sent from another site's page ([`same_origin`]): every form
/// of the dashboard, today's and tomorrow's, is checked here, in one place. The API is left to
/// its bearer tokens (no cookie rides along with a forged request there).
pub async fn forms_from_this_site(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || req.uri().path().starts_with("/api/") || same_origin(req.headers()) {
        return next.run(req).await;
    }
    Problem::new(StatusCode::FORBIDDEN, "this form must be sent from Baromètre's own pages").into_response()
}

/// The content security policy of every answer: nothing but this site's own forms and links,
/// inline styles (the pages carry one `<style>`), no script at all, never framed.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every response, redirects and errors included.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` with the
    // site's own form posts, which the origin check would then refuse.
    set(h, header::REFERRER_POLICY, "same-origin");
    // Pages and answers are per user and per workspace: no shared cache keeps them.
    set(h, header::CACHE_CONTROL, "no-store");
    set(h, header::HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    resp
}

/// Turns the framework's own plain-text rejections (a method not allowed, a body too large, a
/// bad query the handlers did not see) into problem documents: no answer leaves as plain text.
pub async fn problem_documents(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    // Only the framework's own answers are plain text (or empty); the handlers' are JSON.
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !plain {
        return resp;
    }
    use http_body_util::BodyExt;
    let (parts, body) = resp.into_parts();
    // Rejection texts are short; anything longer is cut, never buffered whole.
    let text = match http_body_util::Limited::new(body, 4096).collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let detail = if text.trim().is_empty() {
        parts.status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text.trim().to_string()
    };
    let mut out = Problem::new(parts.status, detail).into_response();
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

/// `Query<T>` whose rejection is a problem document (axum's error-handling pattern).
pub struct Q<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Q(q.0))
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, e.body_text()))
    }
}

/// `Form<T>` whose rejection is a problem document.
pub struct F<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for F<T> {
    type Rejection = Problem;
    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        // A form is a few hundred bytes: one dripped byte by byte is cut off.
        match tokio::time::timeout(BODY_TIMEOUT, axum::extract::Form::<T>::from_request(req, state)).await {
            Err(_) => Err(Problem::new(StatusCode::REQUEST_TIMEOUT, "the form took too long to arrive")),
            Ok(r) => r.map(|f| F(f.0)).map_err(|e| Problem::new(e.status(), e.body_text())),
        }
    }
}

/// How long a form's body may take to arrive, and an import body may stay silent.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn simultaneous_guesses_spend_the_attempts_before_any_password_is_checked() {
        let mut a = Attempts::default();
        let t0 = Instant::now();
        // 40 guesses arrive together: each asks before any has been checked.
        let verdicts: Vec<Verdict> = (0..40).map(|_| a.begin("alice", t0)).collect();
        assert_eq!(verdicts.iter().filter(|v| **v == Verdict::Proceed).count(), MAX_ATTEMPTS as usize);
        assert_eq!(verdicts[39], Verdict::Locked, "the 40th, even the right password, is not checked");
        // Fifteen minutes later the name is free again.
        assert_eq!(a.begin("alice", t0 + LOCKOUT), Verdict::Proceed);
        a.succeeded("alice");
        assert!(a.is_empty());
    }

    #[test]
    fn the_table_of_names_stays_bounded() {
        let mut a = Attempts::default();
        let t0 = Instant::now();
        for i in 0..20_000 {
            a.begin(&format!("nobody-{i}"), t0);
        }
        assert!(a.len() <= MAX_NAMES, "{}", a.len());
        // Expired entries go first.
        let later = t0 + LOCKOUT + Duration::from_secs(1);
        a.begin("late", later);
        for i in 0..MAX_NAMES {
            a.begin(&format!("again-{i}"), later);
        }
        assert!(a.len() <= MAX_NAMES);
        // A locked name survives the pruning of names that are not.
        let mut b = Attempts::default();
        for _ in 0..MAX_ATTEMPTS {
            b.begin("target", t0);
        }
        for i in 0..2 * MAX_NAMES {
            b.begin(&format!("flood-{i}"), t0);
        }
        assert_eq!(b.begin("target", t0), Verdict::Locked);
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[rstest]
    #[case::same_origin(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")], true)]
    #[case::cross_origin(&[("host", "127.0.0.1:8080"), ("origin", "https://evil.example")], false)]
    #[case::null_origin(&[("host", "127.0.0.1:8080"), ("origin", "null")], false)]
    #[case::cross_site_fetch(&[("host", "a.example"), ("sec-fetch-site", "cross-site")], false)]
    #[case::referer_only(&[("host", "a.example"), ("referer", "https://a.example/login?lang=fr")], true)]
    #[case::foreign_referer(&[("host", "a.example"), ("referer", "https://a.example.evil.net/x")], false)]
    #[case::port_differs(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:9999")], false)]
    #[case::no_browser(&[("host", "127.0.0.1:8080")], true)]
    #[case::same_origin_fetch_with_null_origin(&[("host", "a.example"), ("origin", "null"), ("sec-fetch-site", "same-origin")], true)]
    #[case::same_site_is_not_same_origin(&[("host", "a.example"), ("sec-fetch-site", "same-site")], false)]
    fn forms_are_taken_from_this_site_only(#[case] h: &[(&'static str, &'static str)], #[case] ok: bool) {
        assert_eq!(same_origin(&headers(h)), ok);
    }
}
