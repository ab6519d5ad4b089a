//! A realistic, seeded synthetic data set: several accounts and channels, agents on shifts,
//! slower nights and weekends, bots, examined spam, unanswered requests, French texts.
//! The same seed and end date always give the same rows.

use crate::model::{
    Contact, ConversationEvent, Customer, Direction, EventKind, Message, Moment, Order, Post, Probe, Resolution,
    Review, SurveyAnswer,
};
use crate::time::{Millis, Stamp};

/// splitmix64: tiny, seeded, good enough for synthetic data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }
    /// Log-normal with the given median (same unit) and shape.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        let u1 = self.f().max(1e-12);
        let u2 = self.f();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        median * (sigma * z).exp()
    }
}

struct Agent {
    id: &'static str,
    team: &'static str,
    sign: &'static str,
    /// Local hours on shift, weekdays; weekends only if `weekend`.
    from: u32,
    to: u32,
    weekend: bool,
}

const AGENTS: &[Agent] = &[
    Agent { id: "julie.m", team: "Réseaux sociaux", sign: "^JM", from: 8, to: 16, weekend: false },
    Agent { id: "karim.b", team: "Réseaux sociaux", sign: "^KB", from: 12, to: 20, weekend: true },
    Agent { id: "sophie.l", team: "Réseaux sociaux", sign: "", from: 9, to: 17, weekend: false },
    Agent { id: "thomas.r", team: "E-mail", sign: "-- Thomas", from: 9, to: 17, weekend: false },
    Agent { id: "amina.d", team: "E-mail", sign: "-- Amina", from: 8, to: 15, weekend: false },
    Agent { id: "lucas.p", team: "Chat", sign: "", from: 9, to: 18, weekend: true },
    Agent { id: "emma.g", team: "Chat", sign: "", from: 13, to: 21, weekend: false },
];

struct Channel {
    name: &'static str,
    team: &'static str,
    weight: u32,
    /// Median minutes to a human answer while someone is on shift.
    median_min: f64,
    threading: Threading,
    bot: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Threading {
    Id,
    Replies,
    Session,
}

const CHANNELS: &[Channel] = &[
    Channel {
        name: "facebook_wall",
        team: "Réseaux sociaux",
        weight: 14,
        median_min: 35.0,
        threading: Threading::Replies,
        bot: false,
    },
    Channel {
        name: "facebook_messenger",
        team: "Réseaux sociaux",
        weight: 22,
        median_min: 6.0,
        threading: Threading::Id,
        bot: true,
    },
    Channel {
        name: "twitter",
        team: "Réseaux sociaux",
        weight: 12,
        median_min: 18.0,
        threading: Threading::Replies,
        bot: false,
    },
    Channel {
        name: "twitter_dm",
        team: "Réseaux sociaux",
        weight: 6,
        median_min: 9.0,
        threading: Threading::Id,
        bot: false,
    },
    Channel {
        name: "instagram",
        team: "Réseaux sociaux",
        weight: 10,
        median_min: 40.0,
        threading: Threading::Session,
        bot: false,
    },
    Channel { name: "email", team: "E-mail", weight: 20, median_min: 150.0, threading: Threading::Id, bot: false },
    Channel { name: "chat", team: "Chat", weight: 16, median_min: 1.5, threading: Threading::Id, bot: true },
];

const ACCOUNTS: &[(&str, f64)] = &[("maison-lumiere", 1.0), ("velo-city", 0.6), ("banque-horizon", 0.8)];

const QUESTIONS: &[&str] = &[
    "Bonjour, ma commande n°{n} n'est toujours pas arrivée, pouvez-vous vérifier ?",
    "Je n'arrive pas à me connecter à mon espace client depuis ce matin.",
    "Bonjour, est-il possible de modifier l'adresse de livraison ?",
    "Quels sont vos horaires d'ouverture ce week-end ?",
    "J'ai été débité deux fois pour la même commande {n}, c'est inadmissible.",
    "Le produit reçu est abîmé, comment faire un retour ?",
    "Bonjour, avez-vous des nouvelles de mon remboursement ?",
    "Votre application plante quand je valide mon panier.",
    "Est-ce que la garantie couvre la batterie ?",
    "Je souhaite résilier mon abonnement, comment faire ?",
];
const FOLLOWUPS: &[&str] =
    &["Toujours rien…", "Vous êtes là ?", "Merci de me répondre rapidement.", "C'est la commande {n}."];
const THANKS: &[&str] = &["Merci beaucoup !", "Super, merci 🙏", "Parfait, merci pour votre réponse rapide"];
const SPAM: &[&str] = &["Gagnez un iPhone gratuit ici : bit.ly/xxx", "Suivez-moi pour des promos !!!"];
const ANSWERS: &[&str] = &[
    "Bonjour, je regarde tout de suite votre dossier.",
    "Bonjour, pouvez-vous nous envoyer votre numéro de commande en message privé ?",
    "Nous sommes désolés pour ce désagrément, un remboursement vient d'être lancé.",
    "Bonjour, la livraison est prévue demain avant 13 h.",
    "Le retour est gratuit : une étiquette vous a été envoyée par e-mail.",
];
const BOT: &str =
    "Merci pour votre message ! Un conseiller vous répond dès que possible (du lundi au vendredi, 9 h – 18 h).";
const PROACTIVE: &str =
    "Bonjour ! Votre colis a pris du retard en raison d'une grève des transporteurs, nous suivons cela de près.";

/// Paris local hour offset used for shifts (the demo's accounts live in Europe/Paris; a fixed
/// +1 h keeps the generator pure and simple — the report applies real time zones).
const LOCAL_OFFSET_MS: Millis = 3_600_000;

fn local_hour(ms: Millis) -> (u32, u32) {
    let l = ms + LOCAL_OFFSET_MS;
    let day = l.div_euclid(86_400_000);
    let weekday = ((day + 3).rem_euclid(7)) as u32; // 1970-01-01 was a Thursday; 0 = Monday
    ((l.rem_euclid(86_400_000) / 3_600_000) as u32, weekday)
}

fn on_shift(a: &Agent, ms: Millis) -> bool {
    let (h, wd) = local_hour(ms);
    (wd < 5 || a.weekend) && h >= a.from && h < a.to
}

/// The first instant from `ms` (by 5-minute steps) at which an agent of `team` is on shift.
fn next_on_shift(team: &str, ms: Millis) -> (Millis, &'static Agent) {
    let mut t = ms;
    for _ in 0..(7 * 24 * 12) {
        let team_agents: Vec<&'static Agent> = AGENTS.iter().filter(|a| a.team == team && on_shift(a, t)).collect();
        if let Some(a) = team_agents.first() {
            return (t, a);
        }
        t += 300_000;
    }
    (ms, &AGENTS[0])
}

pub struct DemoData {
    pub messages: Vec<Message>,
    pub events: Vec<ConversationEvent>,
    pub surveys: Vec<SurveyAnswer>,
    pub contacts: Vec<Contact>,
    pub posts: Vec<Post>,
    pub customers: Vec<Customer>,
    pub orders: Vec<Order>,
    pub reviews: Vec<Review>,
    pub probes: Vec<Probe>,
}

/// Customers' own words for a third of the requests: the French messages of the labelled set
/// without a mention of another brand (complaints, praise, suggestions, off-topic chatter,
/// competitors named), chosen by the request's customer and instant so that the generator's
/// random sequence, and so every other figure of the demo, stays as it was.
fn customers_words(customer: &str, at: Millis) -> Option<String> {
    static POOL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let pool = POOL.get_or_init(|| {
        crate::understand::labelled_set()
            .into_iter()
            .filter(|l| l.lang == "fr" && !l.text.contains('@') && l.label != "spam")
            .map(|l| l.text)
            .collect()
    });
    let h = crate::words::Fnv::default().write(customer.as_bytes()).write(&at.to_le_bytes()).finish();
    (h.is_multiple_of(3) && !pool.is_empty()).then(|| pool[(h / 3) as usize % pool.len()].clone())
}

fn text(rng: &mut Rng, pool: &[&str]) -> String {
    rng.pick(pool).replace("{n}", &format!("{}", 100_000 + rng.below(900_000)))
}

/// Generates `days` days of activity ending at `end_ms` (exclusive).
pub fn generate(seed: u64, days: u32, end_ms: Millis) -> DemoData {
    let mut rng = Rng::new(seed);
    let mut out = DemoData {
        messages: Vec::new(),
        events: Vec::new(),
        surveys: Vec::new(),
        contacts: Vec::new(),
        posts: Vec::new(),
        customers: Vec::new(),
        orders: Vec::new(),
        reviews: Vec::new(),
        probes: Vec::new(),
    };
    let start = end_ms - i64::from(days) * 86_400_000;
    let total_w: u32 = CHANNELS.iter().map(|c| c.weight).sum();
    let mut n = 0u64;
    for d in 0..days {
        let day0 = start + i64::from(d) * 86_400_000;
        let (_, wd) = local_hour(day0 + 12 * 3_600_000);
        // A slow week-on-week rise in volume, busier weekdays.
        let trend = 1.0 + f64::from(d) / f64::from(days.max(1)) * 0.25;
        for (account, size) in ACCOUNTS {
            let base = if wd < 5 { 34.0 } else { 16.0 };
            let count = (base * size * trend * (0.8 + 0.4 * rng.f())) as u32;
            for _ in 0..count {
                n += 1;
                // Arrival: peaks late morning and afternoon, some evenings and nights.
                let hour =
                    *rng.pick(&[0u32, 7, 8, 9, 10, 10, 11, 11, 12, 13, 14, 14, 15, 15, 16, 17, 18, 19, 20, 21, 22, 23]);
                let at = day0 - LOCAL_OFFSET_MS + i64::from(hour) * 3_600_000 + rng.below(3_600_000) as i64;
                if at >= end_ms || at < start {
                    continue;
                }
                let mut w = rng.below(u64::from(total_w)) as u32;
                let ch = CHANNELS.iter().find(|c| {
                    if w < c.weight {
                        true
                    } else {
                        w -= c.weight;
                        false
                    }
                });
                conversation(&mut rng, &mut out, account, ch.unwrap_or(&CHANNELS[0]), n, at, end_ms);
            }
            extras(&mut rng, &mut out, account, *size, day0, d, end_ms);
        }
    }
    customers(&mut rng, &mut out, start, end_ms);
    probes(&mut rng, &mut out, start);
    out
}

/// A mystery-shopper campaign over six brands, with seed 002's channel gaps: e-mail answered
/// nearly always, private messages often, the public wall rarely.
fn probes(rng: &mut Rng, out: &mut DemoData, start: Millis) {
    let brands = [
        ("maison-lumiere", 1.0),
        ("velo-city", 0.9),
        ("banque-horizon", 0.95),
        ("opticlair", 0.8),
        ("telefix", 0.7),
        ("modalia", 0.85),
    ];
    let channels =
        [("email", 0.97, 240.0, 0.8), ("facebook_messenger", 0.78, 45.0, 0.05), ("facebook_wall", 0.30, 90.0, 0.05)];
    for (b, (brand, care)) in brands.iter().enumerate() {
        for (c, (channel, p_answer, median_min, p_signed)) in channels.iter().enumerate() {
            for k in 0..12u64 {
                let sent = start + (b as i64 * 3 + c as i64) * 3_600_000 + k as i64 * 86_400_000;
                let answered = rng.chance(p_answer * care);
                let at = sent + (rng.lognormal(*median_min, 0.9) * 60_000.0) as i64;
                out.probes.push(Probe {
                    probe_id: format!("mystere-{b}-{c}-{k}"),
                    campaign: "qualiweb-demo".into(),
                    brand: brand.to_string(),
                    channel: channel.to_string(),
                    sent_at: Stamp { ms: sent, offset_s: 3600 },
                    answered_at: answered.then_some(Stamp { ms: at, offset_s: 3600 }),
                    resolution: answered.then(|| {
                        if rng.chance(0.87) {
                            Resolution::Complete
                        } else {
                            Resolution::Partial
                        }
                    }),
                    signed: answered.then(|| rng.chance(*p_signed)),
                });
            }
        }
    }
}

/// A day's phone queue and publications for one account.
fn extras(rng: &mut Rng, out: &mut DemoData, account: &str, size: f64, day0: Millis, d: u32, end_ms: Millis) {
    let (_, wd) = local_hour(day0 + 12 * 3_600_000);
    let calls = if wd < 5 { (20.0 * size) as u32 } else { (6.0 * size) as u32 };
    for i in 0..calls {
        let q = day0 - LOCAL_OFFSET_MS + (9 * 3_600_000) + rng.below(9 * 3_600_000) as i64;
        if q >= end_ms {
            continue;
        }
        let abandoned = rng.chance(0.08);
        let wait = (rng.lognormal(90.0, 0.8) * 1000.0) as i64;
        let agent = AGENTS[5 + (i as usize % 2)].id;
        out.contacts.push(Contact {
            contact_id: format!("{}-call-{d}-{i}", &account[..3]),
            channel: "phone".into(),
            account: account.to_string(),
            queued_at: Stamp { ms: q, offset_s: 3600 },
            answered_at: (!abandoned).then_some(Stamp { ms: q + wait, offset_s: 3600 }),
            ended_at: (!abandoned)
                .then(|| Stamp { ms: q + wait + (rng.lognormal(300.0, 0.6) * 1000.0) as i64, offset_s: 3600 }),
            agent_id: (!abandoned).then(|| agent.to_string()),
        });
    }
    if d.is_multiple_of(2) {
        let theme = *rng.pick(&["promo", "conseil", "coulisses", "nouveauté"]);
        let reach = 500 + rng.below(4000);
        let rate = match theme {
            "conseil" => 0.06,
            "coulisses" => 0.09,
            _ => 0.03,
        } * (0.6 + 0.8 * rng.f());
        out.posts.push(Post {
            post_id: format!("{}-post-{d}", &account[..3]),
            account: account.to_string(),
            channel: (*rng.pick(&["facebook_wall", "instagram", "twitter"])).to_string(),
            published_at: Stamp { ms: day0 + 10 * 3_600_000, offset_s: 3600 },
            theme: Some(theme.into()),
            impressions: reach * (2 + rng.below(3)),
            reach,
            engagements: (reach as f64 * rate) as u64,
        });
    }
}

/// Customers of the three brands, with their orders over the last year.
fn customers(rng: &mut Rng, out: &mut DemoData, start: Millis, end_ms: Millis) {
    for (a, (account, _)) in ACCOUNTS.iter().enumerate() {
        for i in 0..400u64 {
            let since = end_ms - (rng.below(3 * 365) as i64 + 1) * 86_400_000;
            let churned = rng
                .chance(0.12)
                .then(|| since + rng.below(((end_ms - since) / 86_400_000).max(1) as u64) as i64 * 86_400_000);
            let id = format!("client-{a}-{i}");
            out.customers.push(Customer {
                customer_id: id.clone(),
                account: account.to_string(),
                since: Moment::At(Stamp { ms: since, offset_s: 3600 }),
                churned_at: churned.map(|c| Moment::At(Stamp { ms: c, offset_s: 3600 })),
                referred_by: rng.chance(0.15).then(|| format!("client-{a}-{}", rng.below(400))),
            });
            for k in 0..rng.below(6) {
                let at = since.max(start - 300 * 86_400_000) + rng.below(300) as i64 * 86_400_000;
                if at >= end_ms || churned.is_some_and(|c| at > c) {
                    continue;
                }
                out.orders.push(Order {
                    order_id: format!("{id}-o{k}"),
                    customer_id: id.clone(),
                    ordered_at: Moment::At(Stamp { ms: at, offset_s: 3600 }),
                    amount: (20.0 + rng.lognormal(45.0, 0.5)).round(),
                    margin: Some(0.3 + 0.2 * rng.f()),
                    currency: Some("EUR".into()),
                });
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn conversation(rng: &mut Rng, out: &mut DemoData, account: &str, ch: &Channel, n: u64, at: Millis, end_ms: Millis) {
    let customer = format!("client-{}", rng.below(4000));
    let conv = format!("{}-{}-{n}", &account[..3], ch.name);
    let mut seq = 0;
    let mut last_id: Option<String> = None;
    let mut push = |out: &mut DemoData,
                    ms: Millis,
                    dir: Direction,
                    author: &str,
                    txt: String,
                    bot: bool,
                    agent: Option<&Agent>,
                    extra: Extra|
     -> String {
        seq += 1;
        let id = format!("{conv}-{seq}");
        let mut m = Message {
            message_id: id.clone(),
            created_at: Stamp { ms, offset_s: 3600 },
            direction: dir,
            account: account.to_string(),
            channel: ch.name.to_string(),
            author_id: author.to_string(),
            conversation_id: (ch.threading == Threading::Id).then(|| conv.clone()),
            reply_to: None,
            customer_id: Some(customer.clone()),
            text: Some(txt),
            bot,
            public: None,
            kind: extra.kind.map(str::to_string),
            in_scope: extra.in_scope,
            actionable: None,
            handle_seconds: agent.map(|_| (60.0 + 400.0 * extra.effort).round()),
            team: agent.map(|a| a.team.to_string()),
            derived: None,
            corrected: None,
        };
        if ch.threading == Threading::Replies {
            m.reply_to = last_id.clone();
        }
        last_id = Some(id.clone());
        out.messages.push(m);
        id
    };
    let mut t = at;
    if rng.chance(0.03) {
        let (st, a) = next_on_shift(ch.team, t);
        push(out, st, Direction::Out, a.id, PROACTIVE.to_string(), false, Some(a), Extra::effort(rng.f()));
        t = st + rng.lognormal(40.0, 0.8) as i64 * 60_000;
    }
    let spam = rng.chance(0.04);
    let requests = if spam { 1 } else { 1 + u32::from(rng.chance(0.35)) + u32::from(rng.chance(0.1)) };
    for r in 0..requests {
        if t >= end_ms {
            return;
        }
        let body = if spam {
            text(rng, SPAM)
        } else if r > 0 && rng.chance(0.3) {
            text(rng, THANKS)
        } else {
            let q = text(rng, QUESTIONS);
            customers_words(&customer, t).unwrap_or(q)
        };
        let thanks = THANKS.iter().any(|x| body == *x);
        let extra = if spam {
            Extra { kind: Some("spam"), in_scope: Some(false), effort: 0.0 }
        } else {
            // Whether it is within the service's purpose is read from the text.
            Extra { kind: None, in_scope: None, effort: 0.0 }
        };
        push(out, t, Direction::In, &customer, body, false, None, extra);
        let mut last_in = t;
        if !spam && rng.chance(0.25) {
            last_in = t + rng.lognormal(4.0, 1.0) as i64 * 60_000 + 30_000;
            push(out, last_in, Direction::In, &customer, text(rng, FOLLOWUPS), false, None, Extra::plain());
        }
        if ch.bot && r == 0 && rng.chance(0.7) {
            push(out, t + 2_000, Direction::Out, "bot", BOT.to_string(), true, None, Extra::plain());
        }
        if spam {
            if rng.chance(0.7) {
                let (st, a) = next_on_shift(ch.team, t);
                out.events.push(ConversationEvent {
                    conversation_id: if ch.threading == Threading::Id { conv.clone() } else { format!("{conv}-1") },
                    event: EventKind::Examined,
                    at: Stamp { ms: st + 600_000, offset_s: 3600 },
                    agent_id: Some(a.id.to_string()),
                });
            }
            return;
        }
        if thanks {
            return;
        }
        // Unanswered more often on public walls, as seed 002 found.
        let miss = if ch.name == "facebook_wall" { 0.22 } else { 0.06 };
        if rng.chance(miss) {
            return;
        }
        let (st, agent) = next_on_shift(ch.team, last_in);
        let wait = rng.lognormal(ch.median_min, 1.0) * 60_000.0;
        // Backlog after nights and weekends: a queue forms at shift start.
        let backlog = if st > last_in + 3_600_000 { rng.lognormal(45.0, 0.7) * 60_000.0 } else { 0.0 };
        let ans_at = st + (wait + backlog) as i64;
        if ans_at >= end_ms {
            return;
        }
        let mut body = text(rng, ANSWERS);
        if !agent.sign.is_empty() && rng.chance(0.85) {
            body = if agent.sign.starts_with("--") {
                format!("{body}\n{}", agent.sign)
            } else {
                format!("{body} {}", agent.sign)
            };
        }
        push(out, ans_at, Direction::Out, agent.id, body, false, Some(agent), Extra::effort(rng.f()));
        // The conversation's id as the clock names it: the thread id, else its first message.
        let conv_name = if ch.threading == Threading::Id { conv.clone() } else { format!("{conv}-1") };
        if r == 0 {
            let resolved = ans_at + (rng.lognormal(20.0, 1.0) * 60_000.0) as i64;
            if resolved < end_ms {
                let ev = |event, ms| ConversationEvent {
                    conversation_id: conv_name.clone(),
                    event,
                    at: Stamp { ms, offset_s: 3600 },
                    agent_id: Some(agent.id.to_string()),
                };
                out.events.push(ev(EventKind::Resolved, resolved));
                if rng.chance(0.06) {
                    out.events.push(ev(EventKind::Reopened, resolved + 3_600_000));
                    out.events.push(ev(EventKind::Resolved, resolved + 3 * 3_600_000));
                }
            }
            // Satisfaction after the answer: faster answers are better rated.
            if rng.chance(0.3) && ans_at + 3_600_000 < end_ms {
                let slow = (ans_at - t) as f64 / 3_600_000.0;
                let base = if slow < 1.0 {
                    4.3
                } else if slow < 8.0 {
                    3.6
                } else {
                    2.8
                };
                let score = (base + rng.f() * 1.4 - 0.7).round().clamp(1.0, 5.0);
                let answer = |survey: &str, score: f64, lo: f64, hi: f64, k: &str| SurveyAnswer {
                    response_id: format!("{conv}-{k}"),
                    survey: survey.into(),
                    score: Some(score),
                    scale_min: Some(lo),
                    scale_max: Some(hi),
                    answered_at: Stamp { ms: ans_at + 3_600_000, offset_s: 3600 },
                    conversation_id: Some(conv_name.clone()),
                    agent_id: Some(agent.id.to_string()),
                    channel: Some(ch.name.to_string()),
                    account: Some(account.to_string()),
                    customer_id: Some(customer.clone()),
                    comment: None,
                    answer: None,
                };
                out.surveys.push(answer("csat", score, 1.0, 5.0, "csat"));
                if rng.chance(0.5) {
                    let nps = (score * 2.0 + rng.f() * 2.0 - 1.0).round().clamp(0.0, 10.0);
                    out.surveys.push(answer("nps", nps, 0.0, 10.0, "nps"));
                }
                if rng.chance(0.3) {
                    out.surveys.push(answer("ces", (7.0 - score + rng.f()).round().clamp(1.0, 7.0), 1.0, 7.0, "ces"));
                }
            }
            if rng.chance(0.05) {
                for (crit, base) in [("exactitude", 80.0), ("ton", 85.0), ("rapidite", 70.0)] {
                    out.reviews.push(Review {
                        key: format!("{conv}-qa-{crit}"),
                        conversation_id: Some(conv_name.clone()),
                        reviewer: Some("qualite".into()),
                        agent_id: Some(agent.id.to_string()),
                        criterion: crit.into(),
                        score: (base + rng.f() * 30.0 - 15.0).clamp(0.0, 100.0).round(),
                        at: Stamp { ms: ans_at + 86_400_000, offset_s: 3600 },
                    });
                }
            }
        }
        t = ans_at + (rng.lognormal(30.0, 1.2) * 60_000.0) as i64;
    }
}

struct Extra {
    kind: Option<&'static str>,
    in_scope: Option<bool>,
    effort: f64,
}

impl Extra {
    fn plain() -> Extra {
        Extra { kind: None, in_scope: Some(true), effort: 0.0 }
    }
    fn effort(e: f64) -> Extra {
        Extra { kind: None, in_scope: None, effort: e }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{run, Outcome, Role};
    use crate::config::Config;

    #[test]
    fn the_same_seed_gives_the_same_rows_and_a_realistic_mix() {
        let end = crate::time::parse_instant("2026-04-06T00:00:00Z").unwrap().ms;
        let a = generate(7, 14, end);
        let b = generate(7, 14, end);
        assert_eq!(a.messages, b.messages);
        assert!(a.messages.len() > 1000, "{}", a.messages.len());
        assert!(a.messages.iter().all(|m| m.created_at.ms < end));
        let f = run(&a.messages, &a.events, &Config::default());
        let has = |o: Outcome| f.requests.iter().any(|r| r.outcome == o);
        assert!(has(Outcome::Answered) && has(Outcome::Unanswered) && has(Outcome::Examined));
        assert!(f.messages.iter().any(|m| m.role == Role::Bot));
        assert!(f.messages.iter().any(|m| m.role == Role::Proactive));
        assert!(f.messages.iter().any(|m| m.signed == Some(true)));
        // Every kind of data the report reads has rows.
        assert!(!a.surveys.is_empty() && !a.contacts.is_empty() && !a.posts.is_empty());
        assert!(!a.customers.is_empty() && !a.orders.is_empty() && !a.reviews.is_empty() && !a.probes.is_empty());
        assert!(f.conversations.iter().any(|c| c.reopens > 0));
    }
}
