//! The metric registry: every indicator's id, shape, labels and formula, and the rule that
//! computes it. Reports, drill-downs and the generated documentation all read this one table,
//! so the figures, the rows behind them and the docs cannot drift apart.

use crate::customers::CustomerMetric;
use crate::facts::{Outcome, Role};
pub use crate::indicator::{Ctx, Figure, Source};
use crate::table::{ContactRow, ConvRow, MsgRow, PostRow, ReqRow, SurveyKind, SurveyRow};
use crate::time::Millis;
use crate::understand::Label;
pub use crate::value::Shape;
pub use crate::vocab::Lang;

type ReqPred = fn(&ReqRow, &Ctx) -> bool;
type MsgPred = fn(&MsgRow) -> bool;

/// Customers from whom a public conversation is a community thread (`community_threads`).
pub const COMMUNITY_PARTICIPANTS: u32 = 3;

/// How a metric is computed.
pub enum Rule {
    /// Messages satisfying the predicate; `known` says whether a message carries the information
    /// at all (none known → `null`).
    MsgCount {
        pred: MsgPred,
        known: Option<MsgPred>,
    },
    ReqCount(ReqPred),
    ReqRatio {
        den: ReqPred,
        num: ReqPred,
    },
    MsgRatio {
        den: MsgPred,
        num: MsgPred,
    },
    /// Milliseconds measured on each request that has one.
    ReqDuration(fn(&ReqRow, &Ctx) -> Option<Millis>),
    /// Milliseconds measured on each message that has one.
    MsgDuration(fn(&MsgRow) -> Option<Millis>),
    /// Survey answers satisfying `num` among those satisfying `den`.
    SurveyRatio {
        den: fn(&SurveyRow) -> bool,
        num: fn(&SurveyRow) -> bool,
    },
    /// Answers / invitations.
    SurveyResponseRate,
    ContactCount(fn(&ContactRow) -> bool),
    ContactRatio {
        den: fn(&ContactRow) -> bool,
        num: fn(&ContactRow) -> bool,
    },
    ContactDuration(fn(&ContactRow) -> Option<Millis>),
    ConvCount(fn(&ConvRow) -> bool),
    ConvRatio {
        den: fn(&ConvRow) -> bool,
        num: fn(&ConvRow) -> bool,
    },
    ConvDuration(fn(&ConvRow, &Ctx) -> Option<Millis>),
    /// An indicator of its own kind: one file under `indicator/` computes its figure and lists
    /// the rows behind it.
    Own(&'static dyn Figure),
    /// A sum over publications.
    PostSum(fn(&PostRow) -> u64),
    /// Ratio of sums over publications (never a mean of per-post rates).
    PostRatio {
        num: fn(&PostRow) -> u64,
        den: fn(&PostRow) -> u64,
    },
}

pub struct MetricDef {
    pub id: &'static str,
    pub seed: &'static str,
    pub label_fr: &'static str,
    pub label_en: &'static str,
    pub formula_fr: &'static str,
    pub formula_en: &'static str,
    /// Whether a higher value is better (`false` for durations).
    pub higher_is_better: bool,
    pub rule: Rule,
}

impl MetricDef {
    pub fn shape(&self) -> Shape {
        match self.rule {
            Rule::MsgCount { .. } | Rule::ReqCount(_) | Rule::ContactCount(_) | Rule::ConvCount(_) => Shape::Count,
            Rule::ConvRatio { .. } | Rule::PostRatio { .. } => Shape::Ratio,
            Rule::PostSum(_) => Shape::Count,
            Rule::ConvDuration(_) => Shape::Duration,
            Rule::ReqRatio { .. }
            | Rule::MsgRatio { .. }
            | Rule::SurveyRatio { .. }
            | Rule::SurveyResponseRate
            | Rule::ContactRatio { .. } => Shape::Ratio,
            Rule::ReqDuration(_) | Rule::MsgDuration(_) | Rule::ContactDuration(_) => Shape::Duration,
            Rule::Own(k) => k.shape(),
        }
    }
    pub fn label(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Fr => self.label_fr,
            Lang::En => self.label_en,
        }
    }
    pub fn formula(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Fr => self.formula_fr,
            Lang::En => self.formula_en,
        }
    }
    /// Whether the rows behind it are requests (else messages).
    pub fn on_requests(&self) -> bool {
        self.source() == Source::Requests
    }
    /// Whether the rows behind it are survey answers, invitations or contacts (not the clock's).
    pub fn on_records(&self) -> bool {
        self.source() == Source::Records
    }

    /// What the rows behind the figure are: one place that knows it for every rule.
    pub fn source(&self) -> Source {
        match self.rule {
            Rule::ReqCount(_) | Rule::ReqRatio { .. } | Rule::ReqDuration(_) => Source::Requests,
            Rule::MsgCount { .. } | Rule::MsgRatio { .. } | Rule::MsgDuration(_) => Source::Messages,
            Rule::ConvCount(_) | Rule::ConvRatio { .. } | Rule::ConvDuration(_) => Source::Conversations,
            Rule::SurveyRatio { .. }
            | Rule::SurveyResponseRate
            | Rule::ContactCount(_)
            | Rule::ContactRatio { .. }
            | Rule::ContactDuration(_)
            | Rule::PostSum(_)
            | Rule::PostRatio { .. } => Source::Records,
            Rule::Own(k) => k.source(),
        }
    }
}

fn human_out(m: &MsgRow) -> bool {
    matches!(m.role, Role::Reply | Role::Proactive)
}
fn not_examined(r: &ReqRow, _: &Ctx) -> bool {
    r.rated()
}
fn answered(r: &ReqRow, _: &Ctx) -> bool {
    r.answered()
}
fn answered_first(r: &ReqRow, _: &Ctx) -> bool {
    r.outcome == Outcome::Answered && r.first
}

pub static METRICS: &[MetricDef] = &[
    MetricDef {
        id: "messages_received",
        seed: "000 §6, 001",
        label_fr: "Messages reçus",
        label_en: "Messages received",
        formula_fr: "nombre de messages `in` (client → entreprise)",
        formula_en: "number of `in` messages (customer → company)",
        higher_is_better: true,
        rule: Rule::MsgCount { pred: |m| m.role == Role::Customer, known: None },
    },
    MetricDef {
        id: "agent_replies",
        seed: "000 §7",
        label_fr: "Réponses des agents",
        label_en: "Agent replies",
        formula_fr: "messages `out` humains (hors bots) qui ne sont pas spontanés",
        formula_en: "human `out` messages (bots excluded) that are not spontaneous",
        higher_is_better: true,
        rule: Rule::MsgCount { pred: |m| m.role == Role::Reply, known: None },
    },
    MetricDef {
        id: "proactive_messages",
        seed: "000 §8",
        label_fr: "Messages spontanés",
        label_en: "Proactive messages",
        formula_fr: "messages `out` humains envoyés avant tout message du client dans la conversation",
        formula_en: "human `out` messages sent before the customer wrote anything in the conversation",
        higher_is_better: true,
        rule: Rule::MsgCount { pred: |m| m.role == Role::Proactive, known: None },
    },
    MetricDef {
        id: "in_scope_messages",
        seed: "000 §4",
        label_fr: "Messages conformes au périmètre",
        label_en: "In-scope messages",
        formula_fr: "messages `in` dans le périmètre : colonne `in_scope`, sinon ni spam ni hors sujet selon l'étiquette de leur texte (null si aucun message n'a ni colonne ni texte)",
        formula_en: "`in` messages within the service's purpose: the `in_scope` column, else neither spam nor off topic by their text's label (null when no message has the column or a text)",
        higher_is_better: true,
        rule: Rule::MsgCount {
            pred: |m| m.role == Role::Customer && m.in_scope == Some(true),
            known: Some(|m| m.role == Role::Customer && m.in_scope.is_some()),
        },
    },
    MetricDef {
        id: "actionable_messages",
        seed: "000 §5",
        label_fr: "Messages pertinents (à traiter)",
        label_en: "Actionable messages",
        formula_fr: "messages `in` à traiter : colonne `actionable`, sinon ni spam ni hors sujet (`kind`), ni hors périmètre (`in_scope` faux), ni simple remerciement (étiquette du texte)",
        formula_en: "`in` messages needing a reply: the `actionable` column, else not spam or off-topic (`kind`), not out of scope (`in_scope` false), not a bare thanks (the text's label)",
        higher_is_better: true,
        rule: Rule::MsgCount { pred: |m| m.role == Role::Customer && m.actionable, known: None },
    },
    MetricDef {
        id: "question_messages",
        seed: "003, 004 (§8)",
        label_fr: "Questions",
        label_en: "Questions",
        formula_fr: "messages `in` étiquetés question ou question technique / messages reçus × 100 (le nombre est le numérateur)",
        formula_en: "`in` messages labelled question or technical question / messages received × 100 (the count is the numerator)",
        higher_is_better: true,
        rule: Rule::MsgRatio { den: |m| m.role == Role::Customer, num: |m| m.role == Role::Customer && (m.labelled(Label::Question) || m.labelled(Label::TechnicalQuestion)) },
    },
    MetricDef {
        id: "technical_question_messages",
        seed: "003, 004 (§8)",
        label_fr: "Questions techniques",
        label_en: "Technical questions",
        formula_fr: "messages `in` étiquetés question technique / messages reçus × 100",
        formula_en: "`in` messages labelled technical question / messages received × 100",
        higher_is_better: true,
        rule: Rule::MsgRatio { den: |m| m.role == Role::Customer, num: |m| m.role == Role::Customer && (m.labelled(Label::TechnicalQuestion)) },
    },
    MetricDef {
        id: "complaint_messages",
        seed: "003, 004 (§8)",
        label_fr: "Réclamations",
        label_en: "Complaints",
        formula_fr: "messages `in` étiquetés réclamation / messages reçus × 100",
        formula_en: "`in` messages labelled complaint / messages received × 100",
        higher_is_better: false,
        rule: Rule::MsgRatio { den: |m| m.role == Role::Customer, num: |m| m.role == Role::Customer && (m.labelled(Label::Complaint)) },
    },
    MetricDef {
        id: "positive_feedback_messages",
        seed: "003, 004 (§8)",
        label_fr: "Avis positifs",
        label_en: "Positive feedback",
        formula_fr: "messages `in` étiquetés avis positif / messages reçus × 100",
        formula_en: "`in` messages labelled positive feedback / messages received × 100",
        higher_is_better: true,
        rule: Rule::MsgRatio { den: |m| m.role == Role::Customer, num: |m| m.role == Role::Customer && (m.labelled(Label::FeedbackPositive)) },
    },
    MetricDef {
        id: "negative_feedback_messages",
        seed: "003, 004 (§8)",
        label_fr: "Avis négatifs",
        label_en: "Negative feedback",
        formula_fr: "messages `in` étiquetés avis négatif / messages reçus × 100",
        formula_en: "`in` messages labelled negative feedback / messages received × 100",
        higher_is_better: false,
        rule: Rule::MsgRatio { den: |m| m.role == Role::Customer, num: |m| m.role == Role::Customer && (m.labelled(Label::FeedbackNegative)) },
    },
    MetricDef {
        id: "suggestion_messages",
        seed: "003, 004 (§8)",
        label_fr: "Suggestions",
        label_en: "Suggestions",
        formula_fr: "messages `in` étiquetés suggestion / messages reçus × 100",
        formula_en: "`in` messages labelled suggestion / messages received × 100",
        higher_is_better: true,
        rule: Rule::MsgRatio { den: |m| m.role == Role::Customer, num: |m| m.role == Role::Customer && (m.labelled(Label::Suggestion)) },
    },
    MetricDef {
        id: "thanks_only_messages",
        seed: "003, 004 (§8)",
        label_fr: "Simples remerciements",
        label_en: "Thanks only",
        formula_fr: "messages `in` étiquetés simple remerciement / messages reçus × 100",
        formula_en: "`in` messages labelled thanks only / messages received × 100",
        higher_is_better: true,
        rule: Rule::MsgRatio { den: |m| m.role == Role::Customer, num: |m| m.role == Role::Customer && (m.labelled(Label::ThanksOnly)) },
    },
    MetricDef {
        id: "spam_messages",
        seed: "003, 004 (§8)",
        label_fr: "Spam",
        label_en: "Spam",
        formula_fr: "messages `in` étiquetés spam / messages reçus × 100",
        formula_en: "`in` messages labelled spam / messages received × 100",
        higher_is_better: false,
        rule: Rule::MsgRatio { den: |m| m.role == Role::Customer, num: |m| m.role == Role::Customer && (m.labelled(Label::Spam)) },
    },
    MetricDef {
        id: "off_topic_messages",
        seed: "003, 004 (§8)",
        label_fr: "Hors sujet",
        label_en: "Off topic",
        formula_fr: "messages `in` étiquetés hors sujet / messages reçus × 100",
        formula_en: "`in` messages labelled off topic / messages received × 100",
        higher_is_better: false,
        rule: Rule::MsgRatio { den: |m| m.role == Role::Customer, num: |m| m.role == Role::Customer && (m.labelled(Label::OffTopic)) },
    },
    MetricDef {
        id: "competitor_mentions",
        seed: "003, 004 (§8)",
        label_fr: "Mentions de concurrents",
        label_en: "Competitor mentions",
        formula_fr: "messages `in` dont le texte nomme un concurrent de `[listening] competitors` (mots entiers, sans casse ni accents) / messages reçus × 100",
        formula_en: "`in` messages whose text names a competitor of `[listening] competitors` (whole words, case and accents ignored) / messages received × 100",
        higher_is_better: false,
        rule: Rule::MsgRatio {
            den: |m| m.role == Role::Customer,
            num: |m| m.role == Role::Customer && m.names_competitor(),
        },
    },
    MetricDef {
        id: "unanswered_public_questions",
        seed: "003, 004 (§8)",
        label_fr: "Questions publiques sans réponse",
        label_en: "Unanswered public questions",
        formula_fr: "messages `in` publics (mur, commentaires, tweets) étiquetés question ou question technique dont la demande n'a reçu aucune réponse humaine : des occasions de répondre devant la communauté",
        formula_en: "public `in` messages (wall, comments, tweets) labelled question or technical question whose request got no human answer: chances to answer in front of the community",
        higher_is_better: false,
        rule: Rule::MsgCount {
            pred: |m| m.asks() && m.public && !m.answered,
            known: None,
        },
    },
    MetricDef {
        id: "faq_answerable_questions",
        seed: "003, 004 (§8)",
        label_fr: "Questions déjà traitées par la FAQ",
        label_en: "Questions the FAQ answers",
        formula_fr: "messages `in` étiquetés question ou question technique auxquels répond une entrée de la FAQ importée (`barometre import faq`, similarité des textes) / messages reçus × 100",
        formula_en: "`in` messages labelled question or technical question that an entry of the imported FAQ answers (`barometre import faq`, text similarity) / messages received × 100",
        higher_is_better: false,
        rule: Rule::Own(&crate::indicator::faq::FaqAnswerable),
    },
    MetricDef {
        id: "community_threads",
        seed: "003, 004 (§8)",
        label_fr: "Fils communautaires",
        label_en: "Community threads",
        formula_fr: "conversations publiques (mur, commentaires, tweets) où au moins 3 clients différents ont écrit : des discussions où la marque répond devant sa communauté",
        formula_en: "public conversations (wall, comments, tweets) in which at least 3 different customers wrote: discussions where the brand answers in front of its community",
        higher_is_better: true,
        rule: Rule::ConvCount(|c| c.public && c.participants >= COMMUNITY_PARTICIPANTS),
    },
    MetricDef {
        id: "recurring_themes",
        seed: "003, 004 (§8)",
        label_fr: "Thèmes récurrents",
        label_en: "Recurring themes",
        formula_fr: "messages `in` par thème (livraison, facture, résiliation, panne… : des mots du même sens regroupés, en français et en anglais), avec leur part des messages reçus et leur évolution par rapport à la période précédente ; un thème compte à partir de 2 messages",
        formula_en: "`in` messages by theme (delivery, bills, cancellation, outages…: words of the same sense grouped, in French and English), with their share of messages received and their change against the period before; a theme counts from 2 messages",
        higher_is_better: false,
        rule: Rule::Own(&crate::indicator::themes::RecurringThemes),
    },
    MetricDef {
        id: "activity_by_hour",
        seed: "003, 004 (§8)",
        label_fr: "Activité par heure de la semaine",
        label_en: "Activity by hour of week",
        formula_fr: "messages `in` par jour de la semaine et heure, dans le fuseau du rapport (`--tz`) ; la valeur est l'heure la plus chargée",
        formula_en: "`in` messages by day of week and hour, in the report's time zone (`--tz`); the value is the busiest hour",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::activity::ActivityByHour),
    },
    MetricDef {
        id: "sentiment_balance",
        seed: "003, 004 (§8)",
        label_fr: "Solde d'opinion",
        label_en: "Sentiment balance",
        formula_fr: "moyenne, sur les messages `in` qui donnent un avis, de +100 (avis positif) et −100 (avis négatif, réclamation) : de −100 à +100",
        formula_en: "mean, over the `in` messages giving an opinion, of +100 (positive feedback) and −100 (negative feedback, complaint): −100 to +100",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::sentiment::SentimentBalance),
    },
    MetricDef {
        id: "requests",
        seed: "METRICS §1",
        label_fr: "Demandes",
        label_en: "Requests",
        formula_fr: "suites maximales de messages `in` consécutifs d'une conversation, non interrompues par un message `out` humain",
        formula_en: "maximal runs of consecutive `in` messages of a conversation, not interrupted by a human `out` message",
        higher_is_better: true,
        rule: Rule::ReqCount(|_, _| true),
    },
    MetricDef {
        id: "answered_requests",
        seed: "METRICS §1",
        label_fr: "Demandes répondues",
        label_en: "Answered requests",
        formula_fr: "demandes suivies d'un message `out` humain dans la même conversation",
        formula_en: "requests followed by a human `out` message in the same conversation",
        higher_is_better: true,
        rule: Rule::ReqCount(answered),
    },
    MetricDef {
        id: "examined_requests",
        seed: "METRICS §1",
        label_fr: "Demandes examinées sans réponse",
        label_en: "Examined requests",
        formula_fr: "demandes closes sans réponse par un événement `examined`",
        formula_en: "requests closed without a reply by an `examined` event",
        higher_is_better: true,
        rule: Rule::ReqCount(|r, _| r.outcome == Outcome::Examined),
    },
    MetricDef {
        id: "unanswered_requests",
        seed: "000 §3",
        label_fr: "Demandes jamais traitées",
        label_en: "Unanswered requests",
        formula_fr: "demandes ni répondues ni examinées (où que ce soit dans les données)",
        formula_en: "requests neither answered nor examined (anywhere in the data)",
        higher_is_better: false,
        rule: Rule::ReqCount(|r, _| r.outcome == Outcome::Unanswered),
    },
    MetricDef {
        id: "response_rate",
        seed: "001, 002",
        label_fr: "Taux de réponse",
        label_en: "Response rate",
        formula_fr: "demandes répondues / (demandes − demandes examinées) × 100",
        formula_en: "answered requests / (requests − examined requests) × 100",
        higher_is_better: true,
        rule: Rule::ReqRatio { den: not_examined, num: answered },
    },
    MetricDef {
        id: "public_response_rate",
        seed: "002",
        label_fr: "Taux de réponse public (mur, commentaires, tweets)",
        label_en: "Public response rate (wall, comments, tweets)",
        formula_fr: "taux de réponse des demandes publiques (colonne `public`, sinon selon le canal)",
        formula_en: "response rate of public requests (`public` column, else by channel)",
        higher_is_better: true,
        rule: Rule::ReqRatio { den: |r, c| r.public && not_examined(r, c), num: |r, c| r.public && answered(r, c) },
    },
    MetricDef {
        id: "private_response_rate",
        seed: "002",
        label_fr: "Taux de réponse privé (messages, MP)",
        label_en: "Private response rate (messages, DMs)",
        formula_fr: "taux de réponse des demandes privées",
        formula_en: "response rate of private requests",
        higher_is_better: true,
        rule: Rule::ReqRatio { den: |r, c| !r.public && not_examined(r, c), num: |r, c| !r.public && answered(r, c) },
    },
    MetricDef {
        id: "unanswered_rate",
        seed: "000 §3",
        label_fr: "Taux de demandes jamais traitées",
        label_en: "Unanswered rate",
        formula_fr: "demandes ni répondues ni examinées / demandes × 100",
        formula_en: "requests neither answered nor examined / requests × 100",
        higher_is_better: false,
        rule: Rule::ReqRatio { den: |_, _| true, num: |r, _| r.outcome == Outcome::Unanswered },
    },
    MetricDef {
        id: "requests_handled_within_target",
        seed: "000 §1",
        label_fr: "Demandes traitées dans le délai cible",
        label_en: "Requests handled within target",
        formula_fr: "demandes répondues ou examinées en au plus le délai cible (1 h par défaut) / demandes × 100",
        formula_en: "requests answered or examined within the target (1 h by default) / requests × 100",
        higher_is_better: true,
        rule: Rule::ReqRatio { den: |_, _| true, num: |r, c| r.handled_ms().is_some_and(|h| h <= c.cfg.target_ms) },
    },
    MetricDef {
        id: "first_response_time",
        seed: "001, 004",
        label_fr: "Délai de première réponse",
        label_en: "First response time",
        formula_fr: "réponse − début de la première demande de chaque conversation (demandes répondues)",
        formula_en: "answer − start of the first request of each conversation (answered requests)",
        higher_is_better: false,
        rule: Rule::ReqDuration(|r, c| if answered_first(r, c) { r.response_ms() } else { None }),
    },
    MetricDef {
        id: "first_response_time_business",
        seed: "001, 004",
        label_fr: "Délai de première réponse (heures ouvrées)",
        label_en: "First response time (business hours)",
        formula_fr: "comme le délai de première réponse, en ne comptant que les heures d'ouverture du compte",
        formula_en: "as first response time, counting only the account's open hours",
        higher_is_better: false,
        rule: Rule::ReqDuration(|r, c| if answered_first(r, c) { r.closed().map(|e| c.business(r, e)) } else { None }),
    },
    MetricDef {
        id: "response_time",
        seed: "004",
        label_fr: "Délai de réponse",
        label_en: "Response time",
        formula_fr: "réponse − début de chaque demande répondue (moyenne = temps de réponse moyen)",
        formula_en: "answer − start of every answered request (mean = average response time)",
        higher_is_better: false,
        rule: Rule::ReqDuration(|r, _| r.response_ms()),
    },
    MetricDef {
        id: "response_time_business",
        seed: "004",
        label_fr: "Délai de réponse (heures ouvrées)",
        label_en: "Response time (business hours)",
        formula_fr: "comme le délai de réponse, en ne comptant que les heures d'ouverture du compte",
        formula_en: "as response time, counting only the account's open hours",
        higher_is_better: false,
        rule: Rule::ReqDuration(|r, c| if answered(r, c) { r.closed().map(|e| c.business(r, e)) } else { None }),
    },
    MetricDef {
        id: "agent_handle_time",
        seed: "000 §2",
        label_fr: "Temps de traitement des agents",
        label_en: "Agent handle time",
        formula_fr: "moyenne de `handle_seconds` sur les messages `out` humains (null sans cette colonne)",
        formula_en: "mean of `handle_seconds` over human `out` messages (null without that column)",
        higher_is_better: false,
        rule: Rule::MsgDuration(|m| if human_out(m) { m.handle() } else { None }),
    },
    MetricDef {
        id: "signed_reply_rate",
        seed: "002",
        label_fr: "Réponses signées",
        label_en: "Signed replies",
        formula_fr: "messages `out` humains portant une signature d'agent / messages `out` humains ayant un texte × 100",
        formula_en: "human `out` messages carrying an agent signature / human `out` messages with a text × 100",
        higher_is_better: true,
        rule: Rule::MsgRatio { den: |m| human_out(m) && m.signed.is_some(), num: |m| human_out(m) && m.signed == Some(true) },
    },
    MetricDef {
        id: "responsiveness_badge",
        seed: "001",
        label_fr: "Badge « Très réactif »",
        label_en: "Responsiveness badge",
        formula_fr: "sur les 7 jours avant la fin de période : taux de réponse ≥ 90 % et délai de réponse médian < 5 min",
        formula_en: "over the 7 days before the period end: response rate ≥ 90 % and median response time < 5 min",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::badge::Responsiveness),
    },
    MetricDef {
        id: "csat",
        seed: "004, 001",
        label_fr: "Satisfaction (CSAT)",
        label_en: "Customer satisfaction (CSAT)",
        formula_fr: "réponses positives (score normalisé ≥ 0,75 : 4 ou 5 sur 5) / réponses × 100 ; 30 sur 50 → 60 %",
        formula_en: "positive answers (normalised score ≥ 0.75: 4 or 5 of 5) / answers × 100; 30 of 50 → 60 %",
        higher_is_better: true,
        rule: Rule::SurveyRatio { den: csat, num: |s| csat(s) && s.normalised().is_some_and(|n| n >= 0.75) },
    },
    MetricDef {
        id: "csat_mean",
        seed: "004",
        label_fr: "Satisfaction moyenne (échelle d'origine)",
        label_en: "Mean satisfaction (original scale)",
        formula_fr: "moyenne des scores CSAT sur leur échelle (null si les échelles diffèrent)",
        formula_en: "mean CSAT score on its own scale (null when scales differ)",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::survey_mean::SurveyMean { pred: csat, onto: None, lower_is_better: false }),
    },
    MetricDef {
        id: "nps",
        seed: "004, 003",
        label_fr: "Recommandation (NPS)",
        label_en: "Net Promoter Score (NPS)",
        formula_fr: "% promoteurs (9–10) − % détracteurs (0–6), échelle 0–10 ; 70 % − 10 % → 60",
        formula_en: "% promoters (9–10) − % detractors (0–6), 0–10 scale; 70 % − 10 % → 60",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::nps::Nps),
    },
    MetricDef {
        id: "ces",
        seed: "004, 003",
        label_fr: "Effort client (CES)",
        label_en: "Customer effort (CES)",
        formula_fr: "Σ scores d'effort / réponses, sur 1–7 (une réponse sur une autre échelle y est ramenée linéairement) ; plus bas est meilleur",
        formula_en: "Σ effort scores / answers, on 1–7 (an answer on another scale is mapped onto it linearly); lower is better",
        higher_is_better: false,
        rule: Rule::Own(&crate::indicator::survey_mean::SurveyMean {
            pred: |s| s.kind == SurveyKind::Ces && s.score().is_some(),
            onto: Some((1.0, 7.0)),
            lower_is_better: true,
        }),
    },
    MetricDef {
        id: "survey_response_rate",
        seed: "003",
        label_fr: "Taux de réponse aux enquêtes",
        label_en: "Survey response rate",
        formula_fr: "invitations de la période ayant reçu une réponse (même enquête, même client, après l'envoi) / invitations envoyées × 100",
        formula_en: "invitations of the period answered (same survey and customer, after sending) / invitations sent × 100",
        higher_is_better: true,
        rule: Rule::SurveyResponseRate,
    },
    MetricDef {
        id: "contacts",
        seed: "004",
        label_fr: "Contacts en file (chat, téléphone)",
        label_en: "Queued contacts (chat, phone)",
        formula_fr: "contacts entrés en file d'attente",
        formula_en: "contacts that entered a queue",
        higher_is_better: true,
        rule: Rule::ContactCount(|_| true),
    },
    MetricDef {
        id: "average_wait_time",
        seed: "004",
        label_fr: "Temps d'attente",
        label_en: "Wait time",
        formula_fr: "Σ (réponse − mise en file) / contacts servis ; 500 min pour 200 appels → 2,5 min ; abandons exclus",
        formula_en: "Σ (answer − queued) / contacts served; 500 min over 200 calls → 2.5 min; abandoned contacts apart",
        higher_is_better: false,
        rule: Rule::ContactDuration(|c| c.answered().map(|a| a - c.ms)),
    },
    MetricDef {
        id: "abandon_rate",
        seed: "004",
        label_fr: "Taux d'abandon",
        label_en: "Abandon rate",
        formula_fr: "contacts raccrochés avant d'être servis / contacts × 100",
        formula_en: "contacts that left before being served / contacts × 100",
        higher_is_better: false,
        rule: Rule::ContactRatio { den: |_| true, num: |c| c.answered().is_none() },
    },
    MetricDef {
        id: "contact_handle_time",
        seed: "004",
        label_fr: "Durée de traitement des contacts",
        label_en: "Contact handle time",
        formula_fr: "fin − réponse des contacts servis dont la fin est connue",
        formula_en: "end − answer of served contacts whose end is known",
        higher_is_better: false,
        rule: Rule::ContactDuration(|c| c.answered().zip(c.ended()).map(|(a, e)| e - a)),
    },
    MetricDef {
        id: "feedback_response_rate",
        seed: "004",
        label_fr: "Taux de réponse aux avis",
        label_en: "Feedback response rate",
        formula_fr: "messages `in` de type `feedback` (avis, commentaires) ayant reçu une réponse humaine / avis × 100",
        formula_en: "`in` messages of kind `feedback` (reviews, comments) that got a human reply / feedback × 100",
        higher_is_better: true,
        rule: Rule::MsgRatio { den: |m| m.role == Role::Customer && m.feedback, num: |m| m.role == Role::Customer && m.feedback && m.answered },
    },
    MetricDef {
        id: "conversations",
        seed: "METRICS §1",
        label_fr: "Conversations",
        label_en: "Conversations",
        formula_fr: "conversations commencées sur la période (par leur premier message)",
        formula_en: "conversations started in the period (by their first message)",
        higher_is_better: true,
        rule: Rule::ConvCount(|_| true),
    },
    MetricDef {
        id: "resolved_conversations",
        seed: "004",
        label_fr: "Conversations résolues",
        label_en: "Resolved conversations",
        formula_fr: "conversations traitées par une personne (une réponse humaine, ou un événement portant un agent) ayant un événement `resolved`",
        formula_en: "conversations a person handled (a human reply, or an event carrying an agent) that have a `resolved` event",
        higher_is_better: true,
        rule: Rule::ConvCount(human_resolved),
    },
    MetricDef {
        id: "resolution_time",
        seed: "004",
        label_fr: "Délai de résolution",
        label_en: "Resolution time",
        formula_fr: "début de la conversation → premier événement `resolved` (conversations humaines)",
        formula_en: "conversation start → its first `resolved` event (human conversations)",
        higher_is_better: false,
        rule: Rule::ConvDuration(|c, _| if c.human { c.resolution_ms() } else { None }),
    },
    MetricDef {
        id: "resolution_time_business",
        seed: "004",
        label_fr: "Délai de résolution (heures ouvrées)",
        label_en: "Resolution time (business hours)",
        formula_fr: "comme le délai de résolution, en heures d'ouverture du compte",
        formula_en: "as resolution time, in the account's open hours",
        higher_is_better: false,
        rule: Rule::ConvDuration(|c, x| {
            if !c.human {
                return None;
            }
            c.resolution_ms().map(|_| x.business_between(c.account, c.start_ms, c.first_resolved_ms))
        }),
    },
    MetricDef {
        id: "full_resolution_time",
        seed: "004",
        label_fr: "Délai de résolution complète",
        label_en: "Full resolution time",
        formula_fr: "début → dernier `resolved` après toute réouverture (null si rouverte et pas encore résolue)",
        formula_en: "start → last `resolved` after any `reopened` (null when reopened and not resolved again)",
        higher_is_better: false,
        rule: Rule::ConvDuration(|c, _| if c.human { c.full_resolution_ms() } else { None }),
    },
    MetricDef {
        id: "full_resolution_time_business",
        seed: "004",
        label_fr: "Délai de résolution complète (heures ouvrées)",
        label_en: "Full resolution time (business hours)",
        formula_fr: "comme le délai de résolution complète, en heures d'ouverture du compte",
        formula_en: "as full resolution time, in the account's open hours",
        higher_is_better: false,
        rule: Rule::ConvDuration(|c, x| {
            if !c.human {
                return None;
            }
            c.full_resolution_ms().map(|_| x.business_between(c.account, c.start_ms, c.final_resolved_ms))
        }),
    },
    MetricDef {
        id: "reopen_rate",
        seed: "004",
        label_fr: "Taux de réouverture",
        label_en: "Reopen rate",
        formula_fr: "conversations résolues rouvertes au moins une fois / conversations résolues × 100",
        formula_en: "resolved conversations reopened at least once / resolved conversations × 100",
        higher_is_better: false,
        rule: Rule::ConvRatio { den: human_resolved, num: |c| human_resolved(c) && c.reopens > 0 },
    },
    MetricDef {
        id: "complaint_resolution_time",
        seed: "004",
        label_fr: "Délai de résolution des réclamations",
        label_en: "Complaint resolution time",
        formula_fr: "événement `complaint` (ou `escalated`) → premier `resolved` qui suit, conversations traitées par une personne ; lundi → mercredi = 2 jours",
        formula_en: "`complaint` (or `escalated`) event → the first `resolved` after it, conversations a person handled; Monday → Wednesday = 2 days",
        higher_is_better: false,
        rule: Rule::ConvDuration(|c, _| if c.human { c.complaint_resolution_ms() } else { None }),
    },
    MetricDef {
        id: "complaint_resolution_time_business",
        seed: "004",
        label_fr: "Délai de résolution des réclamations (heures ouvrées)",
        label_en: "Complaint resolution time (business hours)",
        formula_fr: "comme le délai de résolution des réclamations, en heures d'ouverture du compte",
        formula_en: "as complaint resolution time, in the account's open hours",
        higher_is_better: false,
        rule: Rule::ConvDuration(|c, x| {
            if !c.human {
                return None;
            }
            c.complaint_resolution_ms().map(|_| x.business_between(c.account, c.complaint_ms, c.complaint_resolved_ms))
        }),
    },
    MetricDef {
        id: "first_contact_resolution_rate",
        seed: "004",
        label_fr: "Résolution au premier contact",
        label_en: "First contact resolution rate",
        formula_fr: "conversations résolues avec un seul message `out` humain / conversations résolues × 100",
        formula_en: "resolved conversations with exactly one human `out` message / resolved conversations × 100",
        higher_is_better: true,
        rule: Rule::ConvRatio { den: human_resolved, num: |c| human_resolved(c) && c.human_out == 1 },
    },
    MetricDef {
        id: "bot_only_conversations",
        seed: "004",
        label_fr: "Conversations traitées par les seuls bots",
        label_en: "Bot-only conversations",
        formula_fr: "conversations sans message `out` humain mais avec une réponse automatique (à part des chiffres humains)",
        formula_en: "conversations with automated replies and no human `out` message (kept apart from human figures)",
        higher_is_better: true,
        rule: Rule::ConvCount(|c| c.bot_only),
    },
    MetricDef {
        id: "bot_resolution_time",
        seed: "004",
        label_fr: "Délai de résolution des conversations bots",
        label_en: "Bot-only resolution time",
        formula_fr: "début → premier `resolved` des conversations traitées par les seuls bots",
        formula_en: "start → first `resolved` of bot-only conversations",
        higher_is_better: false,
        rule: Rule::ConvDuration(|c, _| if c.bot_only { c.resolution_ms() } else { None }),
    },
    MetricDef {
        id: "posts",
        seed: "001",
        label_fr: "Publications",
        label_en: "Posts",
        formula_fr: "publications de la période",
        formula_en: "posts published in the period",
        higher_is_better: true,
        rule: Rule::PostSum(|_| 1),
    },
    MetricDef {
        id: "impressions",
        seed: "001",
        label_fr: "Impressions",
        label_en: "Impressions",
        formula_fr: "Σ impressions des publications (nombre d'affichages)",
        formula_en: "Σ impressions of the posts (times shown)",
        higher_is_better: true,
        rule: Rule::PostSum(|p| p.impressions),
    },
    MetricDef {
        id: "reach",
        seed: "001",
        label_fr: "Portée",
        label_en: "Reach",
        formula_fr: "Σ portée des publications (personnes ayant vu)",
        formula_en: "Σ reach of the posts (people who saw them)",
        higher_is_better: true,
        rule: Rule::PostSum(|p| p.reach),
    },
    MetricDef {
        id: "engagement_rate",
        seed: "001",
        label_fr: "Taux d'engagement (sur la portée)",
        label_en: "Engagement rate (by reach)",
        formula_fr: "Σ interactions / Σ portée × 100 (rapport des sommes sur plusieurs publications)",
        formula_en: "Σ engagements / Σ reach × 100 (ratio of the sums over several posts)",
        higher_is_better: true,
        rule: Rule::PostRatio { num: |p| p.engagements, den: |p| p.reach },
    },
    MetricDef {
        id: "engagement_rate_by_impressions",
        seed: "001",
        label_fr: "Taux d'engagement (sur les impressions)",
        label_en: "Engagement rate (by impressions)",
        formula_fr: "Σ interactions / Σ impressions × 100",
        formula_en: "Σ engagements / Σ impressions × 100",
        higher_is_better: true,
        rule: Rule::PostRatio { num: |p| p.engagements, den: |p| p.impressions },
    },
    MetricDef {
        id: "top_posts",
        seed: "001",
        label_fr: "Meilleures et moins bonnes publications",
        label_en: "Top and bottom posts",
        formula_fr: "les 5 publications au plus fort et au plus faible taux d'engagement (portée > 0)",
        formula_en: "the 5 posts with the highest and the lowest engagement rate (reach > 0)",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::top_posts::TopPosts),
    },
    MetricDef {
        id: "retention_rate",
        seed: "004",
        label_fr: "Taux de rétention (CRR)",
        label_en: "Customer retention rate (CRR)",
        formula_fr: "(clients en fin E − nouveaux N) / clients au début S × 100 ; S 200, E 200, N 20 → 90 % (donnez --from)",
        formula_en: "(customers at the end E − new N) / customers at the start S × 100; S 200, E 200, N 20 → 90 % (give --from)",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::customer::Customers(CustomerMetric::Retention)),
    },
    MetricDef {
        id: "churn_rate",
        seed: "004",
        label_fr: "Taux d'attrition",
        label_en: "Churn rate",
        formula_fr: "clients du début perdus pendant la période / clients au début × 100 ; 20 sur 250 → 8 %",
        formula_en: "customers of the start lost during the period / customers at the start × 100; 20 of 250 → 8 %",
        higher_is_better: false,
        rule: Rule::Own(&crate::indicator::customer::Customers(CustomerMetric::Churn)),
    },
    MetricDef {
        id: "referral_rate",
        seed: "004, 003",
        label_fr: "Taux de parrainage",
        label_en: "Referral rate",
        formula_fr: "nouveaux clients venus par parrainage (`referred_by`) / nouveaux clients × 100",
        formula_en: "new customers acquired through a referral (`referred_by`) / new customers × 100",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::customer::Customers(CustomerMetric::Referral)),
    },
    MetricDef {
        id: "clv",
        seed: "004",
        label_fr: "Valeur vie client (CLV)",
        label_en: "Customer lifetime value (CLV)",
        formula_fr: "panier moyen × achats par client et par an × durée de vie moyenne (ans) ; 50 × 5 × 3 = 750",
        formula_en: "average purchase value × purchases per customer per year × average lifetime (years); 50 × 5 × 3 = 750",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::customer::Customers(CustomerMetric::Clv)),
    },
    MetricDef {
        id: "clv_historical",
        seed: "004",
        label_fr: "CLV historique",
        label_en: "Historical CLV",
        formula_fr: "Σ achats × marge brute moyenne, par client ayant acheté",
        formula_en: "Σ purchases × average gross margin, per ordering customer",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::customer::Customers(CustomerMetric::ClvHistorical)),
    },
    MetricDef {
        id: "clv_predictive",
        seed: "004",
        label_fr: "CLV prédictive",
        label_en: "Predictive CLV",
        formula_fr: "transactions mensuelles moyennes × panier moyen × durée de vie moyenne (mois)",
        formula_en: "average monthly transactions × average order value × average lifetime (months)",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::customer::Customers(CustomerMetric::ClvPredictive)),
    },
    MetricDef {
        id: "iqs",
        seed: "004",
        label_fr: "Score de qualité interne (IQS)",
        label_en: "Internal quality score (IQS)",
        formula_fr: "Σ poids × score moyen du critère / Σ poids des critères notés (`[iqs] criteria`, scores 0–100 de `qa-reviews`)",
        formula_en: "Σ weight × criterion mean score / Σ weights of the scored criteria (`[iqs] criteria`, 0–100 `qa-reviews` scores)",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::weighted::Weighted(crate::indicator::weighted::Index::Iqs)),
    },
    MetricDef {
        id: "engagement_score",
        seed: "004",
        label_fr: "Score d'engagement",
        label_en: "Engagement score",
        formula_fr: "moyenne pondérée des critères de `[engagement_score] criteria` (scores 0–100)",
        formula_en: "weighted mean of the `[engagement_score] criteria` (0–100 scores)",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::weighted::Weighted(crate::indicator::weighted::Index::Engagement)),
    },
    MetricDef {
        id: "channel_preferences",
        seed: "004",
        label_fr: "Préférences de canal",
        label_en: "Channel preferences",
        formula_fr: "part de chaque canal dans les contacts (conversations et appels), dans les clients (par le canal que chacun utilise le plus) et dans les préférences déclarées (enquête `preferred_channel`)",
        formula_en: "each channel's share of contacts (conversations and queued contacts), of customers (by the channel each uses most) and of declared preferences (`preferred_channel` survey)",
        higher_is_better: true,
        rule: Rule::Own(&crate::indicator::channel_preferences::ChannelPreferences),
    },
];

/// A conversation a human worked on and resolved.
/// Resolved, and handled by a person (a human reply, or an event carrying an agent): what every
/// human resolution figure counts.
fn human_resolved(c: &ConvRow) -> bool {
    c.human && c.resolved()
}

fn csat(s: &SurveyRow) -> bool {
    s.kind == SurveyKind::Csat && s.score().is_some()
}

pub fn find(id: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|m| m.id == id)
}

/// A metric's place in the registry (the order reports list them in).
pub fn index(id: &str) -> Option<usize> {
    METRICS.iter().position(|m| m.id == id)
}
