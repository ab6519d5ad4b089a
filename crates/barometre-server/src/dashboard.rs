//! The dashboard: server-rendered pages, charts drawn as inline SVG in Rust (no JavaScript, no
//! CDN), behind a login with a session cookie (HttpOnly, Secure, SameSite=Strict) and a CSRF
//! token on every form that changes state. Failed logins are rate-limited per user name.

use crate::guard::{Verdict, F as Form, Q as Query};
use crate::{blocking, open, AppState, Problem};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use barometre_core::clock::Facts;
use barometre_core::fmt::duration;
use barometre_core::metrics::{self, Lang, Shape};
use barometre_core::report::{self, Dim, Params, Report, Value};
use barometre_core::time::{rfc3339_utc, Millis, Zone};
use barometre_store::auth::Session;
use serde::Deserialize;
use std::fmt::Write;
use std::time::Instant;

const COOKIE: &str = "barometre_session";
const SESSION_MS: Millis = 12 * 3_600_000;

/// HTML-escapes text.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn cookie_of(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == COOKIE).then(|| v.to_string())
    })
}

fn t(lang: Lang, fr: &'static str, en: &'static str) -> &'static str {
    if lang == Lang::Fr {
        fr
    } else {
        en
    }
}

fn page(lang: Lang, title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html><html lang="{l}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Baromètre</title><style>
body{{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}}
header{{background:#1d2330;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}}
header a{{color:#cfe1ff}} main{{padding:1rem;max-width:1200px;margin:auto}}
.tiles{{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:.8rem}}
.tile{{background:#fff;border-radius:8px;padding:.8rem;box-shadow:0 1px 2px #0002}}
.tile .v{{font-size:1.6rem;font-weight:600}} .tile a{{color:inherit;text-decoration:none}}
.good{{color:#1a7f37}} .bad{{color:#c62828}} .muted{{color:#667}}
table{{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0 1.2rem}}
th,td{{padding:.35rem .5rem;border-bottom:1px solid #e3e6ea;text-align:left}} td.n{{text-align:right}}
section{{margin-top:1.2rem}} form.inline{{display:inline}} .wrap{{overflow-x:auto}}
section > svg{{max-width:640px;display:block}}
</style></head><body>{body}</body></html>"#,
        l = if lang == Lang::Fr { "fr" } else { "en" },
        title = esc(title),
    ))
}

fn lang_of(s: Option<&str>) -> Lang {
    s.and_then(Lang::parse).unwrap_or(Lang::Fr)
}

// ---------------------------------------------------------------- login

#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
    error: Option<String>,
}

pub async fn login_page(Query(q): Query<LangQuery>) -> Html<String> {
    login_html(lang_of(q.lang.as_deref()), q.error.as_deref())
}

fn login_html(lang: Lang, error: Option<&str>) -> Html<String> {
    let error = match error {
        Some("locked") => {
            t(lang, "Trop d'essais : réessayez dans 15 minutes.", "Too many attempts: try again in 15 minutes.")
        }
        Some(_) => t(lang, "Nom ou mot de passe incorrect.", "Wrong name or password."),
        None => "",
    };
    page(
        lang,
        t(lang, "Connexion", "Log in"),
        &format!(
            r#"<main><h1>Baromètre</h1><p class="bad" id="error">{error}</p>
<form method="post" action="/login"><input type="hidden" name="lang" value="{l}">
<p><label>{user}<br><input name="user" autocomplete="username" required></label></p>
<p><label>{pass}<br><input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit">{go}</button></p></form></main>"#,
            l = if lang == Lang::Fr { "fr" } else { "en" },
            user = t(lang, "Utilisateur", "User"),
            pass = t(lang, "Mot de passe", "Password"),
            go = t(lang, "Se connecter", "Log in"),
        ),
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    user: String,
    password: String,
    lang: Option<String>,
}

/// The two languages' codes: anything else sent as `lang` is French (never echoed raw into a
/// redirection's `Location`).
fn lang_code(s: Option<&str>) -> &'static str {
    if lang_of(s) == Lang::Fr {
        "fr"
    } else {
        "en"
    }
}

/// User names longer than this are refused before anything is counted or hashed (the attempts
/// table keys on names: its memory is bounded by their length too).
const MAX_NAME_BYTES: usize = 256;

/// Logs a user in (the form's origin is checked by `guard::forms_from_this_site`).
pub async fn login(State(st): State<AppState>, Form(f): Form<LoginForm>) -> Result<Response, Problem> {
    let lang = lang_code(f.lang.as_deref());
    let wrong = || Ok(Redirect::to(&format!("/login?lang={lang}&error=1")).into_response());
    if f.user.len() > MAX_NAME_BYTES || f.password.len() > 4096 {
        return wrong();
    }
    let attempts = || st.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // The attempt is counted before the password is checked: simultaneous guesses cannot all
    // slip under the limit while the first ones are being hashed.
    if attempts().begin(&f.user, Instant::now()) == Verdict::Locked {
        let page = login_html(lang_of(Some(lang)), Some("locked"));
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    // The stored hash is read and the store given back; then the password is hashed under a
    // permit of its own: logins neither hold stores nor take more cores than there are.
    let (st2, user) = (st.clone(), f.user.clone());
    let stored = blocking(move || Ok(open(&st2)?.user(&user)?)).await?;
    let st2 = st.clone();
    let password = f.password;
    let ok = blocking(move || {
        let _permit = st2.logins.acquire();
        // An unknown name costs the same hash as a known one.
        let hash = stored.as_ref().map_or(barometre_store::auth::UNKNOWN_USER_HASH, |u| u.2.as_str());
        Ok(barometre_store::auth::verify_password(&password, hash) && stored.is_some())
    })
    .await?;
    if !ok {
        return wrong();
    }
    let (st2, user) = (st.clone(), f.user.clone());
    let id = blocking(move || Ok(open(&st2)?.create_session(&user, SESSION_MS)?.0)).await?;
    attempts().succeeded(&f.user);
    let cookie = format!("{COOKIE}={id}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={}", SESSION_MS / 1000);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&format!("/?lang={lang}"))).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Result<Response, Problem> {
    let Some(id) = cookie_of(&headers) else { return Ok(Redirect::to("/login").into_response()) };
    blocking(move || {
        let mut store = open(&st)?;
        let s = store.session(&id)?.ok_or_else(|| Problem::new(StatusCode::UNAUTHORIZED, "not logged in"))?;
        if s.csrf != f.csrf {
            return Err(Problem::new(StatusCode::FORBIDDEN, "the form's CSRF token does not match the session"));
        }
        store.end_session(&id)?;
        let gone = format!("{COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0");
        Ok(([(header::SET_COOKIE, gone)], Redirect::to("/login")).into_response())
    })
    .await
}

/// The session of a request, or a redirection to the login page.
fn session(store: &crate::Pooled, headers: &HeaderMap) -> Result<Option<Session>, Problem> {
    match cookie_of(headers) {
        Some(id) => Ok(store.session(&id)?),
        None => Ok(None),
    }
}

/// A message's label on the conversation page: its name, ✎ when an analyst set it, and for an
/// analyst a form to relabel it (or give it back to the model).
fn label_cell(
    m: &barometre_core::clock::MessageFact,
    conversation: &str,
    csrf: &str,
    analyst: bool,
    lang: Lang,
) -> String {
    use barometre_core::understand::{Label, LabelSource};
    if m.role != barometre_core::clock::Role::Customer {
        return String::new();
    }
    let corrected = m.label_source == Some(LabelSource::Correction);
    let mut c = format!(
        r#"<span data-label="{}">{}{}</span>"#,
        m.label.map_or("", Label::as_str),
        m.label.map_or("—", |l| l.name(lang)),
        if corrected { t(lang, " ✎ (corrigée)", " ✎ (corrected)") } else { "" }
    );
    if analyst {
        let _ = write!(
            c,
            r#" <form class="inline" method="post" action="/conversations/{}/label"><input type="hidden" name="csrf" value="{}"><input type="hidden" name="message_id" value="{}"><input type="hidden" name="lang" value="{}"><select name="label" aria-label="{}"><option value="">{}</option>"#,
            urlenc(conversation),
            esc(csrf),
            esc(&m.message_id),
            if lang == Lang::Fr { "fr" } else { "en" },
            t(lang, "Étiquette", "Label"),
            t(lang, "selon le modèle", "by the model"),
        );
        for l in Label::ALL {
            let sel = if corrected && m.label == Some(l) { " selected" } else { "" };
            let _ = write!(c, r#"<option value="{}"{sel}>{}</option>"#, l.as_str(), l.name(lang));
        }
        let _ = write!(c, "</select><button>{}</button></form>", t(lang, "Corriger", "Relabel"));
    }
    c
}

#[derive(Debug, Deserialize)]
pub struct RelabelForm {
    csrf: String,
    message_id: String,
    label: String,
    lang: Option<String>,
}

/// An analyst's correction from the conversation page (the form's origin is checked by
/// `guard::forms_from_this_site`); an empty label gives the message back to the model.
pub async fn relabel(
    State(st): State<AppState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<RelabelForm>,
) -> Result<Response, Problem> {
    use barometre_core::understand::Label;
    blocking(move || {
        let mut store = open(&st)?;
        let Some(s) = session(&store, &headers)? else { return Ok(Redirect::to("/login").into_response()) };
        if s.csrf != f.csrf {
            return Err(Problem::new(StatusCode::FORBIDDEN, "the form's CSRF token does not match the session"));
        }
        if s.role < barometre_store::auth::Role::Analyst {
            return Err(Problem::new(StatusCode::FORBIDDEN, "relabelling needs the analyst role"));
        }
        let label = match f.label.trim() {
            "" => None,
            l => Some(Label::parse(l).ok_or_else(|| Problem::bad_request(format!("unknown label `{l}`")))?),
        };
        if !store.correct_label(&s.workspace, &st.cfg, &f.message_id, label, Some(&s.user))? {
            return Err(Problem::new(StatusCode::NOT_FOUND, "no incoming message of that id"));
        }
        let lang = lang_code(f.lang.as_deref());
        Ok(Redirect::to(&format!("/conversations/{}?lang={lang}", urlenc(&id))).into_response())
    })
    .await
}

// ---------------------------------------------------------------- overview

#[derive(Debug, Default, Deserialize)]
pub struct OverviewQuery {
    from: Option<String>,
    to: Option<String>,
    tz: Option<String>,
    lang: Option<String>,
    account: Option<String>,
    channel: Option<String>,
    team: Option<String>,
}

/// The filters a page was asked for (empty values mean none).
fn filters<'a>(
    account: &'a Option<String>,
    channel: &'a Option<String>,
    team: &'a Option<String>,
) -> Vec<(Dim, &'a str)> {
    [(Dim::Account, account), (Dim::Channel, channel), (Dim::Team, team)]
        .into_iter()
        .filter_map(|(d, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (d, v)))
        .collect()
}

/// The filters as a query string suffix, for links.
fn filter_query(f: &[(Dim, &str)]) -> String {
    f.iter().map(|(d, v)| format!("&{}={}", d.as_str(), urlenc(v))).collect()
}

/// The period shown: the query's, else the 7 days ending tomorrow midnight (today included).
fn period(q: &OverviewQuery) -> Result<Params, Problem> {
    let zone = Zone::parse(q.tz.as_deref().unwrap_or("UTC")).map_err(Problem::bad_request)?;
    let today = zone.local(chrono_now()).date();
    let tomorrow = (today + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let week_ago = (today - chrono::Duration::days(6)).format("%Y-%m-%d").to_string();
    Params::parse(
        Some(q.from.as_deref().unwrap_or(&week_ago)),
        Some(q.to.as_deref().unwrap_or(&tomorrow)),
        None,
        q.tz.as_deref(),
    )
    .map_err(Problem::bad_request)
}

fn chrono_now() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The headline number of a value, and how to print it.
fn headline(v: &Value, lang: Lang) -> (Option<f64>, String) {
    let pct = |x: f64| if lang == Lang::Fr { format!("{:.1} %", x).replace('.', ",") } else { format!("{x:.1}%") };
    match v {
        Value::Count(c) => (c.value.map(|n| n as f64), c.value.map_or("—".into(), |n| n.to_string())),
        Value::Ratio(r) => (r.value, r.value.map_or("—".into(), pct)),
        Value::Duration(d) => (d.median, d.median.map_or("—".into(), |s| duration(s, lang))),
        Value::Nps(n) => (n.value, n.value.map_or("—".into(), |x| format!("{x:.0}"))),
        Value::Mean(m) => (m.value, m.value.map_or("—".into(), |x| format!("{x:.2}"))),
        _ => (None, "—".into()),
    }
}

/// A sparkline of a series as inline SVG.
fn sparkline(values: &[Option<f64>]) -> String {
    let pts: Vec<(usize, f64)> = values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i, v))).collect();
    if pts.len() < 2 {
        return String::new();
    }
    let (lo, hi) = pts.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, v)| (a.min(*v), b.max(*v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let n = (values.len() - 1).max(1) as f64;
    let path: Vec<String> =
        pts.iter().map(|(i, v)| format!("{:.1},{:.1}", *i as f64 * 140.0 / n, 28.0 - (v - lo) / span * 24.0)).collect();
    format!(
        r##"<svg width="140" height="30" viewBox="0 0 140 30" aria-hidden="true"><polyline fill="none" stroke="#3b6fd8" stroke-width="2" points="{}"/></svg>"##,
        path.join(" ")
    )
}

fn link(metric: &str, p: &Params, lang: Lang, by: Option<(&str, &str)>, filters: &str) -> String {
    let mut s = format!(
        "/explain?metric={metric}&from={}&to={}&lang={}",
        urlenc(&p.from.map(rfc3339_utc).unwrap_or_default()),
        urlenc(&p.to.map(rfc3339_utc).unwrap_or_default()),
        if lang == Lang::Fr { "fr" } else { "en" }
    );
    if let Some((d, k)) = by {
        let _ = write!(s, "&by={d}&group={}", urlenc(k));
    }
    s.push_str(filters);
    esc(&s)
}

fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn overview(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<OverviewQuery>,
) -> Result<Response, Problem> {
    blocking(move || {
        let store = open(&st)?;
        let Some(s) = session(&store, &headers)? else { return Ok(Redirect::to("/login").into_response()) };
        let lang = lang_of(q.lang.as_deref());
        let p = period(&q)?;
        let (from, to) = report::load_span(&st.cfg, &p, true);
        let (_permit, store) = crate::open_heavy(&st, Some(store))?;
        let full = store.table(&s.workspace, &st.cfg, from, to)?;
        // The choices of each filter: the names the period's messages carry.
        let names = |f: fn(&barometre_core::table::MsgRow) -> u32| -> Vec<String> {
            let ids: std::collections::BTreeSet<u32> = full.msgs.iter().map(f).collect();
            let mut v: Vec<String> = ids.into_iter().filter_map(|i| full.dict.name(i).map(str::to_string)).collect();
            v.sort();
            v
        };
        let choices = [names(|m| m.account), names(|m| m.channel), names(|m| m.team)];
        let fs = filters(&q.account, &q.channel, &q.team);
        let mut table = full.clone();
        for (d, v) in &fs {
            table = table.filtered(*d, v);
        }
        let now = report::build(&table, &p, &st.cfg);
        let prev = p.previous().map(|pp| report::build(&table, &pp, &st.cfg));
        let daily = report::build(&table, &Params { by: Some(Dim::Day), ..p }, &st.cfg);
        let by = |d| report::build(&table, &Params { by: Some(d), ..p }, &st.cfg);
        let (accounts, channels, agents) = (by(Dim::Account), by(Dim::Channel), by(Dim::Agent));
        let view = View { s: &s, lang, p: &p, filters: &fs, choices: &choices };
        Ok(page(
            lang,
            t(lang, "Vue d'ensemble", "Overview"),
            &render_overview(&view, &now, prev.as_ref(), &daily, &accounts, &channels, &agents, &table),
        )
        .into_response())
    })
    .await
}

/// What a page shows besides its figures: who, in which language, the period and filters.
struct View<'a> {
    s: &'a Session,
    lang: Lang,
    p: &'a Params,
    filters: &'a [(Dim, &'a str)],
    /// Accounts, channels, teams to pick from.
    choices: &'a [Vec<String>; 3],
}

#[allow(clippy::too_many_arguments)]
fn render_overview(
    view: &View,
    now: &Report,
    prev: Option<&Report>,
    daily: &Report,
    accounts: &Report,
    channels: &Report,
    agents: &Report,
    table: &barometre_core::table::FactTable,
) -> String {
    let (s, lang, p) = (view.s, view.lang, view.p);
    let fq = filter_query(view.filters);
    let link = |metric: &str, p: &Params, lang: Lang, by: Option<(&str, &str)>| link(metric, p, lang, by, &fq);
    let l = if lang == Lang::Fr { "fr" } else { "en" };
    let mut selects = String::new();
    for (i, (d, label)) in [
        (Dim::Account, t(lang, "Compte", "Account")),
        (Dim::Channel, t(lang, "Canal", "Channel")),
        (Dim::Team, t(lang, "Équipe", "Team")),
    ]
    .into_iter()
    .enumerate()
    {
        let current = view.filters.iter().find(|(x, _)| *x == d).map(|(_, v)| *v);
        let _ = write!(
            selects,
            r#" <label>{label} <select name="{}"><option value="">{}</option>"#,
            d.as_str(),
            t(lang, "tous", "all")
        );
        for name in &view.choices[i] {
            let sel = if current == Some(name.as_str()) { " selected" } else { "" };
            let _ = write!(selects, r#"<option{sel}>{}</option>"#, esc(name));
        }
        selects.push_str("</select></label>");
    }
    let day =
        |ms: Option<Millis>| ms.map(|m| Zone::UTC.local(m).date().format("%Y-%m-%d").to_string()).unwrap_or_default();
    let mut b = format!(
        r#"<header><strong>Baromètre</strong><span>{ws}</span>
<form method="get" action="/"><input type="hidden" name="lang" value="{l}">
<label>{from} <input type="date" name="from" value="{f}"></label> <label>{to} <input type="date" name="to" value="{tv}"></label>{selects}
<button>{ok}</button></form>
<a href="/?lang={other}&from={f}&to={tv}{fqe}">{other_name}</a>
<form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="{csrf}"><button>{out}</button></form></header><main>"#,
        ws = esc(&s.workspace),
        from = t(lang, "Du", "From"),
        to = t(lang, "au (exclu)", "to (excluded)"),
        f = day(p.from),
        tv = day(p.to),
        ok = t(lang, "Afficher", "Show"),
        other = if lang == Lang::Fr { "en" } else { "fr" },
        other_name = if lang == Lang::Fr { "English" } else { "Français" },
        csrf = esc(&s.csrf),
        out = t(lang, "Se déconnecter", "Log out"),
        fqe = esc(&fq),
    );
    // What the figures cannot see in the data, above them.
    for n in &now.data_quality {
        let text = if lang == Lang::Fr { &n.message_fr } else { &n.message_en };
        let _ = write!(b, r#"<p class="bad" data-note="{}">⚠ {}</p>"#, n.kind, esc(text));
    }
    // KPI tiles: value, trend against the previous period, daily sparkline.
    b.push_str(r#"<div class="tiles">"#);
    for id in ["messages_received", "response_rate", "first_response_time", "unanswered_requests", "csat", "nps"] {
        let Some(def) = metrics::find(id) else { continue };
        let Some(v) = now.total.metrics.get(id) else { continue };
        let (x, shown) = headline(v, lang);
        let before = prev.and_then(|r| r.total.metrics.get(id)).and_then(|v| headline(v, lang).0);
        let trend = match (x, before) {
            (Some(a), Some(b)) if a != b => {
                let up = a > b;
                let better = up == def.higher_is_better && def.shape() != Shape::Duration
                    || (!up && def.shape() == Shape::Duration);
                format!(
                    r#"<span class="{}">{} {}</span>"#,
                    if better { "good" } else { "bad" },
                    if up { "↑" } else { "↓" },
                    headline_prev(v, b, lang)
                )
            }
            (Some(_), Some(_)) => format!(r#"<span class="muted">= {}</span>"#, t(lang, "stable", "flat")),
            _ => String::new(),
        };
        let series: Vec<Option<f64>> =
            daily.groups.iter().map(|g| g.metrics.get(id).and_then(|v| headline(v, lang).0)).collect();
        let _ = write!(
            b,
            r#"<div class="tile" data-metric="{id}"><a href="{href}"><div class="muted">{label}</div><div class="v">{shown}</div></a><div>{trend}</div>{spark}</div>"#,
            href = link(id, p, lang, None),
            label = esc(def.label(lang)),
            spark = sparkline(&series),
        );
    }
    b.push_str("</div>");
    // Badge per account, with what is missing.
    let _ = write!(b, "<section><h2>{}</h2><div class=\"wrap\"><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "Badge « Très réactif » par compte", "Responsiveness badge per account"),
        t(lang, "Compte", "Account"), t(lang, "Badge", "Badge"), t(lang, "Taux de réponse", "Response rate"),
        t(lang, "Délai médian", "Median time"), t(lang, "Ce qui manque", "What is missing"));
    for g in &accounts.groups {
        let Some(Value::Badge(bd)) = g.metrics.get("responsiveness_badge") else { continue };
        // Facts without an account (quality reviews) have no badge to earn.
        let Some(key) = g.key.clone() else { continue };
        let mut missing = Vec::new();
        if let Some(r) = bd.response_rate.value.filter(|r| *r < bd.thresholds.response_rate) {
            // French writes a decimal comma (`+14,5 pts`).
            let gap = barometre_core::fmt::number(bd.thresholds.response_rate - r, 1, lang);
            missing.push(format!("+{gap} pts {}", t(lang, "de taux de réponse", "of response rate")));
        }
        if let Some(m) = bd.response_time.median.filter(|m| *m >= bd.thresholds.response_time) {
            missing.push(format!(
                "−{} {}",
                duration(m - bd.thresholds.response_time + 1.0, lang),
                t(lang, "de délai médian", "of median time")
            ));
        }
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td class="{}">{}</td><td class="n"><a href="{}">{}</a></td><td class="n">{}</td><td>{}</td></tr>"#,
            esc(&key),
            if bd.earned { "good" } else { "bad" },
            if bd.earned { t(lang, "obtenu ✓", "earned ✓") } else { t(lang, "non obtenu", "not earned") },
            link("responsiveness_badge", p, lang, Some(("account", &key))),
            headline(&Value::Ratio(bd.response_rate.clone()), lang).1,
            bd.response_time.median.map_or("—".into(), |m| duration(m, lang)),
            esc(&missing.join(" · ")),
        );
    }
    b.push_str("</table></div></section>");
    // Public vs private.
    let rate = |r: &Report, id: &str| r.total.metrics.get(id).map(|v| headline(v, lang).1).unwrap_or_default();
    let _ = write!(
        b,
        r#"<section><h2>{}</h2><p><a href="{}">{}: {}</a> · <a href="{}">{}: {}</a></p></section>"#,
        t(lang, "Public et privé", "Public and private"),
        link("public_response_rate", p, lang, None),
        t(lang, "public", "public"),
        rate(now, "public_response_rate"),
        link("private_response_rate", p, lang, None),
        t(lang, "privé", "private"),
        rate(now, "private_response_rate"),
    );
    // Response-time distribution and volume by hour of week.
    b.push_str(&listening(now, lang, &|id: &str| link(id, p, lang, None)));
    b.push_str(&distribution(table, p, lang));
    b.push_str(&heatmap(now, lang, &|id: &str| link(id, p, lang, None)));
    // Per channel and per agent.
    for (title, r, dim, ids) in [
        (
            t(lang, "Par canal", "By channel"),
            channels,
            "channel",
            ["messages_received", "response_rate", "first_response_time", "unanswered_requests"],
        ),
        (
            t(lang, "Par agent", "By agent"),
            agents,
            "agent",
            ["agent_replies", "response_time", "csat", "signed_reply_rate"],
        ),
    ] {
        let _ = write!(b, "<section><h2>{title}</h2><div class=\"wrap\"><table><tr><th></th>");
        for id in ids {
            let _ = write!(b, "<th>{}</th>", esc(metrics::find(id).map_or(id, |d| d.label(lang))));
        }
        b.push_str("</tr>");
        for g in &r.groups {
            let key = g.key.clone().unwrap_or_else(|| "(null)".into());
            let _ = write!(b, "<tr><td>{}</td>", esc(&key));
            for id in ids {
                let shown = g.metrics.get(id).map(|v| headline(v, lang).1).unwrap_or_default();
                let _ = write!(
                    b,
                    r#"<td class="n"><a href="{}">{}</a></td>"#,
                    link(id, p, lang, Some((dim, g.key.as_deref().unwrap_or("null")))),
                    shown
                );
            }
            b.push_str("</tr>");
        }
        b.push_str("</table></div></section>");
    }
    b.push_str("</main>");
    b
}

fn headline_prev(v: &Value, before: f64, lang: Lang) -> String {
    match v {
        Value::Duration(_) => format!("{} {}", t(lang, "contre", "vs"), duration(before, lang)),
        Value::Ratio(_) if lang == Lang::Fr => format!("contre {} %", format!("{before:.1}").replace('.', ",")),
        Value::Ratio(_) => format!("vs {before:.1}%"),
        _ => format!("{} {before:.0}", t(lang, "contre", "vs")),
    }
}

/// Response times of the period's answered requests, in buckets, as SVG bars.
fn distribution(table: &barometre_core::table::FactTable, p: &Params, lang: Lang) -> String {
    let edges = [
        (300, "< 5 min"),
        (900, "5–15 min"),
        (3600, "15 min – 1 h"),
        (4 * 3600, "1–4 h"),
        (86_400, "4–24 h"),
        (i64::MAX, "> 24 h"),
    ];
    let mut counts = [0u64; 6];
    for r in &table.reqs {
        if p.from.is_none_or(|f| r.start_ms >= f) && p.to.is_none_or(|t| r.start_ms < t) {
            if let Some(ms) = r.response_ms() {
                let k = edges.iter().position(|(e, _)| ms / 1000 < *e).unwrap_or(5);
                counts[k] += 1;
            }
        }
    }
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = String::from(r#"<svg width="100%" viewBox="0 -15 600 185" role="img">"#);
    for (i, (c, (_, label))) in counts.iter().zip(edges).enumerate() {
        let h = *c as f64 / max as f64 * 120.0;
        let x = 10.0 + i as f64 * 98.0;
        let _ = write!(
            svg,
            r##"<rect x="{x:.0}" y="{:.0}" width="80" height="{h:.0}" fill="#3b6fd8"><title>{c}</title></rect><text x="{:.0}" y="160" font-size="11" text-anchor="middle">{}</text><text x="{:.0}" y="{:.0}" font-size="11" text-anchor="middle">{c}</text>"##,
            130.0 - h,
            x + 40.0,
            esc(label),
            x + 40.0,
            125.0 - h
        );
    }
    svg.push_str("</svg>");
    format!(
        "<section><h2>{}</h2>{svg}</section>",
        t(lang, "Répartition des délais de réponse", "Response time distribution")
    )
}

/// What customers write about (message understanding): each label's share of the messages
/// received as a bar, linked to the messages behind it; the sentiment balance and competitors.
fn listening(now: &Report, lang: Lang, link: &dyn Fn(&str) -> String) -> String {
    use barometre_core::understand::Label;
    let bars = [
        ("complaint_messages", Label::Complaint),
        ("question_messages", Label::Question),
        ("technical_question_messages", Label::TechnicalQuestion),
        ("suggestion_messages", Label::Suggestion),
        ("negative_feedback_messages", Label::FeedbackNegative),
        ("positive_feedback_messages", Label::FeedbackPositive),
        ("thanks_only_messages", Label::ThanksOnly),
        ("off_topic_messages", Label::OffTopic),
        ("spam_messages", Label::Spam),
    ];
    let share = |id: &str| match now.total.metrics.get(id) {
        Some(Value::Ratio(r)) => Some((r.numerator, r.value.unwrap_or(0.0))),
        _ => None,
    };
    let rows: Vec<(&str, Label, u64, f64)> =
        bars.iter().filter_map(|&(id, l)| share(id).map(|(n, v)| (id, l, n, v))).collect();
    if rows.iter().all(|r| r.2 == 0) {
        return String::new();
    }
    let mut svg = format!(r#"<svg width="100%" viewBox="0 0 600 {}" role="img">"#, rows.len() * 24 + 4);
    for (i, (id, l, n, v)) in rows.iter().enumerate() {
        let y = 4 + i * 24;
        let w = v / 100.0 * 380.0;
        let name =
            if *id == "question_messages" { t(lang, "questions (toutes)", "questions (all)") } else { l.name(lang) };
        let _ = write!(
            svg,
            r##"<a href="{href}"><text x="0" y="{ty}" font-size="12">{name}</text><rect x="170" y="{y}" width="{w:.1}" height="16" fill="#3b6fd8"><title>{n}</title></rect><text x="{tx:.1}" y="{ty}" font-size="11">{pct} ({n})</text></a>"##,
            href = link(id),
            ty = y + 12,
            name = esc(name),
            tx = 176.0 + w,
            pct = barometre_core::fmt::percent(*v, lang),
        );
    }
    svg.push_str("</svg>");
    let mut extra = String::new();
    if let Some(Value::Mean(m)) = now.total.metrics.get("sentiment_balance") {
        if let Some(v) = m.value {
            let _ = write!(
                extra,
                r#"<a href="{}">{} : {} ({} {})</a>"#,
                link("sentiment_balance"),
                t(lang, "Solde d'opinion", "Sentiment balance"),
                barometre_core::fmt::number(v, 1, lang),
                m.count,
                t(lang, "avis", "opinions"),
            );
        }
    }
    if let Some((n, v)) = share("competitor_mentions").filter(|(n, _)| *n > 0) {
        let _ = write!(
            extra,
            r#" · <a href="{}">{} : {n} ({})</a>"#,
            link("competitor_mentions"),
            t(lang, "Mentions de concurrents", "Competitor mentions"),
            barometre_core::fmt::percent(v, lang),
        );
    }
    // Chances to answer once for many: questions the FAQ answers, public threads, open questions.
    if let Some((n, v)) = share("faq_answerable_questions").filter(|(n, _)| *n > 0) {
        let _ = write!(
            extra,
            r#" · <a href="{}">{} : {n} ({})</a>"#,
            link("faq_answerable_questions"),
            t(lang, "Questions déjà traitées par la FAQ", "Questions the FAQ answers"),
            barometre_core::fmt::percent(v, lang),
        );
    }
    for (id, fr, en) in [
        ("community_threads", "Fils communautaires", "Community threads"),
        ("unanswered_public_questions", "Questions publiques sans réponse", "Unanswered public questions"),
    ] {
        if let Some(Value::Count(c)) = now.total.metrics.get(id) {
            if let Some(n) = c.value.filter(|n| *n > 0) {
                let _ = write!(extra, r#" · <a href="{}">{} : {n}</a>"#, link(id), t(lang, fr, en));
            }
        }
    }
    // The recurring themes, most frequent first, each with its change against the period before.
    let mut themes = String::new();
    if let Some(Value::Themes(th)) = now.total.metrics.get("recurring_themes") {
        if !th.themes.is_empty() {
            let _ = write!(
                themes,
                r#"<h3><a href="{}">{}</a></h3><ol data-list="themes">"#,
                link("recurring_themes"),
                t(lang, "Thèmes récurrents", "Recurring themes")
            );
            for c in th.themes.iter().take(8) {
                let name = barometre_core::understand::themes::name(c.theme, lang);
                let trend = match (c.change, c.previous) {
                    (Some(x), _) if x > 0.0 => format!(" ↑ +{}", barometre_core::fmt::percent(x, lang)),
                    (Some(x), _) if x < 0.0 => format!(" ↓ {}", barometre_core::fmt::percent(x, lang)),
                    (Some(_), _) => " =".to_string(),
                    (None, Some(0)) => format!(" ({})", t(lang, "nouveau", "new")),
                    _ => String::new(),
                };
                let _ = write!(
                    themes,
                    "<li>{}{}{} ({}){trend}</li>",
                    esc(name),
                    t(lang, " : ", ": "),
                    barometre_core::fmt::number(c.messages as f64, 0, lang),
                    c.share.map_or("—".into(), |v| barometre_core::fmt::percent(v, lang)),
                );
            }
            themes.push_str("</ol>");
        }
    }
    format!(
        r#"<section data-section="listening"><h2>{}</h2>{svg}<p>{extra}</p>{themes}</section>"#,
        t(lang, "Écoute : de quoi parlent les clients", "Listening: what customers write about")
    )
}

/// Customer messages by hour of the week in the report's zone, as an SVG heatmap: the report's
/// own `activity_by_hour` (the figure and its drill-down, one meaning), each cell's count in its
/// tooltip and the busiest hour linked to the messages behind it.
fn heatmap(now: &Report, lang: Lang, link: &dyn Fn(&str) -> String) -> String {
    let Some(Value::Activity(a)) = now.total.metrics.get("activity_by_hour") else { return String::new() };
    let max = a.hours.iter().flatten().copied().max().unwrap_or(0).max(1);
    let days = if lang == Lang::Fr {
        ["lun", "mar", "mer", "jeu", "ven", "sam", "dim"]
    } else {
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    };
    let mut svg = String::from(r#"<svg width="100%" viewBox="0 0 560 200" role="img">"#);
    for (d, row) in a.hours.iter().enumerate() {
        let _ = write!(svg, r#"<text x="0" y="{}" font-size="11">{}</text>"#, 24 + d * 24, days[d]);
        for (h, c) in row.iter().enumerate() {
            let x = *c as f64 / max as f64;
            let _ = write!(
                svg,
                r#"<rect x="{}" y="{}" width="20" height="20" fill="rgba(59,111,216,{x:.2})"><title>{} {h}h: {c}</title></rect>"#,
                40 + h * 21,
                10 + d * 24,
                days[d]
            );
        }
    }
    svg.push_str("</svg>");
    let peak = a.peak.as_ref().map_or(String::new(), |p| {
        let when = barometre_core::fmt::peak(p, lang);
        format!(
            r#"<p><a href="{}">{} {when}</a> · {} {}</p>"#,
            link("activity_by_hour"),
            t(lang, "Heure la plus chargée :", "Busiest hour:"),
            t(lang, "fuseau", "time zone"),
            esc(&a.zone),
        )
    });
    format!(
        r#"<section data-section="activity"><h2>{}</h2>{svg}{peak}</section>"#,
        t(lang, "Messages reçus par heure de la semaine", "Messages received by hour of week")
    )
}

// ---------------------------------------------------------------- drill-down pages

#[derive(Debug, Default, Deserialize)]
pub struct ExplainPageQuery {
    metric: String,
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
    group: Option<String>,
    lang: Option<String>,
    account: Option<String>,
    channel: Option<String>,
    team: Option<String>,
}

pub async fn explain_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ExplainPageQuery>,
) -> Result<Response, Problem> {
    blocking(move || {
        let store = open(&st)?;
        let Some(s) = session(&store, &headers)? else { return Ok(Redirect::to("/login").into_response()) };
        let lang = lang_of(q.lang.as_deref());
        let def = metrics::find(&q.metric).ok_or_else(|| Problem::bad_request("unknown metric"))?;
        let from = q.from.as_deref().filter(|x| !x.is_empty());
        let to = q.to.as_deref().filter(|x| !x.is_empty());
        let p = Params::parse(from, to, q.by.as_deref(), None).map_err(Problem::bad_request)?;
        let (lo, hi) = report::load_span(&st.cfg, &p, false);
        let (_permit, store) = crate::open_heavy(&st, Some(store))?;
        let mut facts: Facts = store.facts(&s.workspace, &st.cfg, lo, hi)?;
        let mut records = store.records_credited(&s.workspace, &st.cfg, p.from, p.to)?;
        // Answers carry the account and channel the report credits them (through their
        // invitation) before a filter keeps or drops them, as the overview's filter does.
        let credited: Vec<(Option<String>, Option<String>)> = records
            .survey_credits()
            .iter()
            .map(|c| (c.account.map(str::to_string), c.channel.map(str::to_string)))
            .collect();
        for (a, (account, channel)) in records.surveys.iter_mut().zip(credited) {
            a.account = account;
            a.channel = channel;
        }
        for (d, v) in filters(&q.account, &q.channel, &q.team) {
            facts = facts.filtered(d, v);
            let keep = |account: Option<&str>, channel: Option<&str>| match d {
                Dim::Account => account == Some(v),
                Dim::Channel => channel == Some(v),
                _ => false,
            };
            records.surveys.retain(|x| keep(x.account.as_deref(), x.channel.as_deref()));
            records.contacts.retain(|x| keep(Some(&x.account), Some(&x.channel)));
            records.posts.retain(|x| keep(Some(&x.account), Some(&x.channel)));
            records.invitations.retain(|x| keep(x.account.as_deref(), x.channel.as_deref()));
            records.customers.retain(|x| keep(Some(&x.account), None));
            records.reviews.clear();
        }
        let e = report::explain(def, &facts, &records, &p, q.group.as_deref(), &st.cfg);
        let l = if lang == Lang::Fr { "fr" } else { "en" };
        let mut b = format!(
            "<header><a href=\"/?lang={l}\">← Baromètre</a></header><main><h1>{}</h1><p class=\"muted\">{}</p><p>{} {}</p><div class=\"wrap\"><table>",
            esc(def.label(lang)),
            esc(def.formula(lang)),
            e.rows.len(),
            t(lang, "lignes", "rows")
        );
        let cols: Vec<String> = e.rows.first().map(|r| r.keys().cloned().collect()).unwrap_or_default();
        b.push_str("<tr>");
        for c in &cols {
            let _ = write!(b, "<th>{}</th>", esc(c));
        }
        b.push_str("</tr>");
        for r in e.rows.iter().take(2000) {
            b.push_str("<tr>");
            for c in &cols {
                let v = r.get(c).map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                });
                let v = v.unwrap_or_default();
                if c == "conversation_id" && !v.is_empty() {
                    let _ = write!(b, r#"<td><a href="/conversations/{}?lang={l}">{}</a></td>"#, esc(&urlenc(&v)), esc(&v));
                } else {
                    let _ = write!(b, "<td>{}</td>", esc(&v));
                }
            }
            b.push_str("</tr>");
        }
        b.push_str("</table></div></main>");
        Ok(page(lang, def.label(lang), &b).into_response())
    })
    .await
}

pub async fn conversation_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, Problem> {
    blocking(move || {
        let store = open(&st)?;
        let Some(s) = session(&store, &headers)? else { return Ok(Redirect::to("/login").into_response()) };
        let lang = lang_of(q.lang.as_deref());
        let f = store.conversation_facts(&s.workspace, &st.cfg, &id)?;
        if f.messages.is_empty() {
            return Err(Problem::new(StatusCode::NOT_FOUND, "no such conversation"));
        }
        let ids: Vec<String> = f.messages.iter().map(|m| m.message_id.clone()).collect();
        let texts: std::collections::HashMap<String, Option<String>> =
            store.messages_by_id(&s.workspace, &ids)?.into_iter().map(|m| (m.message_id, m.text)).collect();
        let mut msgs: Vec<_> = f.messages.iter().collect();
        msgs.sort_by_key(|m| (m.ms, m.message_id.clone()));
        let l = if lang == Lang::Fr { "fr" } else { "en" };
        let mut b = format!("<header><a href=\"/?lang={l}\">← Baromètre</a></header><main><h1>{} {}</h1><div class=\"wrap\"><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            t(lang, "Conversation", "Conversation"), esc(&id), t(lang, "Quand (UTC)", "When (UTC)"), t(lang, "Qui", "Who"), t(lang, "Rôle", "Role"), t(lang, "Message", "Message"), t(lang, "Étiquette", "Label"));
        let analyst = s.role >= barometre_store::auth::Role::Analyst;
        for m in msgs {
            let text = texts.get(&m.message_id).cloned().flatten().unwrap_or_default();
            let _ = write!(b, "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rfc3339_utc(m.ms), esc(&m.author_id), m.role.as_str(), esc(&text),
                label_cell(m, &id, &s.csrf, analyst, lang));
        }
        b.push_str("</table></div>");
        let _ = write!(b, "<h2>{}</h2><div class=\"wrap\"><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            t(lang, "Demandes", "Requests"), t(lang, "Début", "Start"), t(lang, "Issue", "Outcome"), t(lang, "Délai de réponse", "Response time"), t(lang, "Agent", "Agent"));
        for r in &f.requests {
            let _ = write!(b, "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                rfc3339_utc(r.start_ms), r.outcome.as_str(),
                r.response_ms().map_or("—".into(), |ms| duration(ms as f64 / 1000.0, lang)),
                esc(r.agent.as_deref().unwrap_or("")));
        }
        b.push_str("</table></div></main>");
        Ok(page(lang, &id, &b).into_response())
    })
    .await
}
