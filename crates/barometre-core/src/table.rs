//! Facts in the compact form reports aggregate: one small `Copy` row per request and per message,
//! names interned once in a dictionary. A report over ten million messages then scans a few
//! hundred megabytes of plain rows instead of millions of strings.

use crate::facts::{ConversationFact, Facts, MessageFact, Outcome, RequestFact, Role};
use crate::intern::Interner;
use crate::time::Millis;

/// Id of "no value" (unanswered requests have no agent).
pub const NONE: u32 = u32::MAX;

/// Interned names: accounts, channels, agents, teams share one dictionary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dict(Interner);

impl Dict {
    pub fn id(&mut self, name: &str) -> u32 {
        self.0.intern(name).0
    }
    pub fn opt(&mut self, name: Option<&str>) -> u32 {
        name.map_or(NONE, |n| self.id(n))
    }
    pub fn name(&self, id: u32) -> Option<&str> {
        self.0.get(id)
    }
    /// Loads the name of `id` into the processor's cache ([`Interner::touch`]).
    #[inline]
    pub fn touch(&self, id: u32) -> u8 {
        self.0.touch(id)
    }
    pub fn get(&self, name: &str) -> Option<u32> {
        self.0.find(name)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter()
    }
    pub fn from_interner(i: Interner) -> Dict {
        Dict(i)
    }
    pub fn from_names(names: Vec<String>) -> Dict {
        let mut d = Dict::default();
        for n in &names {
            d.id(n);
        }
        d
    }
}

/// A request, compact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReqRow {
    pub start_ms: Millis,
    /// Answer or examination instant; `i64::MIN` when neither.
    pub closed_ms: Millis,
    pub account: u32,
    pub channel: u32,
    pub agent: u32,
    pub team: u32,
    pub outcome: Outcome,
    pub public: bool,
    pub first: bool,
    /// The customer, numbered within the table (0: unknown): counts distinct customers without
    /// their names. A number, never a hash: two customers whose ids hash alike stay two.
    pub customer: u64,
}

impl ReqRow {
    /// Whether the response rate counts it: every request but those only examined (METRICS §2).
    pub fn rated(&self) -> bool {
        self.outcome != Outcome::Examined
    }
    /// Whether an answer closed it.
    pub fn answered(&self) -> bool {
        self.outcome == Outcome::Answered
    }
    pub fn closed(&self) -> Option<Millis> {
        (self.closed_ms != i64::MIN).then_some(self.closed_ms)
    }
    pub fn response_ms(&self) -> Option<Millis> {
        if self.outcome == Outcome::Answered {
            self.closed().map(|c| c - self.start_ms)
        } else {
            None
        }
    }
    pub fn handled_ms(&self) -> Option<Millis> {
        self.closed().map(|c| c - self.start_ms)
    }
}

/// A conversation's resolution facts, compact. Instants are `i64::MIN` when absent. Ordered
/// field by field: what orders two conversations of one name starting at one instant (a
/// `conversation_id` equal to another conversation's first message id), wherever facts are
/// sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConvRow {
    /// Its first message.
    pub start_ms: Millis,
    pub account: u32,
    pub channel: u32,
    /// Who answered its first request (NONE if nobody).
    pub agent: u32,
    pub team: u32,
    pub first_resolved_ms: Millis,
    /// The last `resolved` after every `reopened` (MIN when reopened and not resolved again).
    pub final_resolved_ms: Millis,
    pub reopens: u32,
    /// First `complaint` or `escalated` event, and the first `resolved` after it.
    pub complaint_ms: Millis,
    pub complaint_resolved_ms: Millis,
    pub human_out: u32,
    /// Automated replies only: reported apart from human figures.
    pub bot_only: bool,
    /// Handled by a person: a human reply, or an event carrying an agent. Only such conversations
    /// enter the human resolution figures (METRICS §3: bots and people never mixed).
    pub human: bool,
    /// Distinct customers who wrote in it.
    pub participants: u32,
    /// A customer wrote in it in public (a wall, comments, tweets): a community thread.
    pub public: bool,
}

fn at(ms: Millis) -> Option<Millis> {
    (ms != i64::MIN).then_some(ms)
}

impl ConvRow {
    pub fn resolved(&self) -> bool {
        self.first_resolved_ms != i64::MIN
    }
    /// Start → first resolution (never negative).
    pub fn resolution_ms(&self) -> Option<Millis> {
        at(self.first_resolved_ms).map(|r| (r - self.start_ms).max(0))
    }
    pub fn full_resolution_ms(&self) -> Option<Millis> {
        at(self.final_resolved_ms).map(|r| (r - self.start_ms).max(0))
    }
    pub fn complaint_resolution_ms(&self) -> Option<Millis> {
        at(self.complaint_ms).zip(at(self.complaint_resolved_ms)).map(|(c, r)| (r - c).max(0))
    }
}

/// A message, compact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MsgRow {
    pub ms: Millis,
    pub account: u32,
    pub channel: u32,
    pub agent: u32,
    pub team: u32,
    /// Agent time in milliseconds; `i64::MIN` when not given.
    pub handle_ms: Millis,
    pub role: Role,
    pub public: bool,
    pub in_scope: Option<bool>,
    pub actionable: bool,
    pub signed: Option<bool>,
    /// `in` message of kind `feedback` (a review, a comment).
    pub feedback: bool,
    /// `in` message: its label (low 4 bits: 0 none, else its place in `Label::ALL` + 1), where
    /// it comes from (bits 4–5: `LabelSource::code`), and whether it names a competitor
    /// ([`COMPETITOR`]).
    pub label: u8,
    /// `in` message: the FAQ entry that answers it (from 1; 0: none).
    pub faq: u32,
    /// `in` message: its themes (bits over `understand::themes::THEMES`).
    pub themes: u64,
    /// `in` message whose request got a human answer.
    pub answered: bool,
    /// `out` message that joins no conversation: no conversation id, no reply chain, no
    /// customer (an export that lost them). Announced by imports and reports, never silent.
    pub unattached: bool,
}

/// The bit of [`MsgRow::label`] that says a message names a competitor.
const COMPETITOR: u8 = 64;

/// What a message's text says, as [`MsgRow::label`] keeps it in one byte (7 bits: the clock
/// carries it in its flags as it is).
pub fn pack_label(
    label: Option<crate::understand::Label>,
    source: Option<crate::understand::LabelSource>,
    competitor: bool,
) -> u8 {
    crate::understand::Label::code(label)
        | crate::understand::LabelSource::code(source) << 4
        | if competitor { COMPETITOR } else { 0 }
}

impl MsgRow {
    pub fn label(&self) -> Option<crate::understand::Label> {
        crate::understand::Label::of_code(self.label & 0x0f)
    }
    pub fn label_source(&self) -> Option<crate::understand::LabelSource> {
        crate::understand::LabelSource::of_code((self.label >> 4) & 3, self.label & 0x0f != 0)
    }
    /// Whether its text names a configured competitor.
    pub fn names_competitor(&self) -> bool {
        self.label & COMPETITOR != 0
    }
    /// A customer's message labelled as a question, technical or not.
    pub fn asks(&self) -> bool {
        self.role == Role::Customer
            && (self.labelled(crate::understand::Label::Question)
                || self.labelled(crate::understand::Label::TechnicalQuestion))
    }
    /// A customer's question that an entry of the workspace's knowledge base answers.
    pub fn answered_by_faq(&self) -> bool {
        self.faq != 0 && self.asks()
    }
    /// Whether the message's label is `l`.
    pub fn labelled(&self, l: crate::understand::Label) -> bool {
        self.label() == Some(l)
    }
    pub fn handle(&self) -> Option<Millis> {
        (self.handle_ms != i64::MIN).then_some(self.handle_ms)
    }
}

/// Which standard survey an answer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurveyKind {
    Csat,
    Nps,
    Ces,
    Other,
}

impl SurveyKind {
    pub fn of(name: &str) -> SurveyKind {
        match name {
            "csat" => SurveyKind::Csat,
            "nps" => SurveyKind::Nps,
            "ces" => SurveyKind::Ces,
            _ => SurveyKind::Other,
        }
    }
}

/// A survey answer, compact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurveyRow {
    pub ms: Millis,
    pub account: u32,
    pub channel: u32,
    pub agent: u32,
    pub kind: SurveyKind,
    /// `dict` id of a categorical answer (`preferred_channel` surveys), else NONE.
    pub answer: u32,
    /// The theme of the invitation it answers (seed 003), else NONE.
    pub theme: u32,
    /// NaN when the answer is a category.
    pub score: f64,
    pub scale_min: f64,
    pub scale_max: f64,
}

impl SurveyRow {
    pub fn score(&self) -> Option<f64> {
        (!self.score.is_nan()).then_some(self.score)
    }
    /// The score on 0–1 by its own scale.
    pub fn normalised(&self) -> Option<f64> {
        self.score().map(|s| (s - self.scale_min) / (self.scale_max - self.scale_min))
    }
}

/// A queued contact, compact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContactRow {
    pub ms: Millis,
    pub account: u32,
    pub channel: u32,
    pub agent: u32,
    /// `i64::MIN` when abandoned.
    pub answered_ms: Millis,
    /// `i64::MIN` when unknown.
    pub ended_ms: Millis,
}

impl ContactRow {
    pub fn answered(&self) -> Option<Millis> {
        (self.answered_ms != i64::MIN).then_some(self.answered_ms)
    }
    pub fn ended(&self) -> Option<Millis> {
        (self.ended_ms != i64::MIN).then_some(self.ended_ms)
    }
}

/// A survey invitation, compact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InvitationRow {
    pub ms: Millis,
    pub account: u32,
    pub channel: u32,
    pub theme: u32,
    pub kind: SurveyKind,
    /// An answer of the same survey and customer came after it.
    pub answered: bool,
}

/// A criterion score of a quality review, compact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReviewRow {
    pub ms: Millis,
    pub agent: u32,
    /// `dict` id of the criterion's name.
    pub criterion: u32,
    pub score: f64,
}

/// A publication, compact; its id is `FactTable::post_ids[i]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PostRow {
    pub ms: Millis,
    pub account: u32,
    pub channel: u32,
    pub theme: u32,
    pub impressions: u64,
    pub reach: u64,
    pub engagements: u64,
    /// Index into `FactTable::post_ids`.
    pub id: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FactTable {
    pub dict: Dict,
    pub reqs: Vec<ReqRow>,
    pub msgs: Vec<MsgRow>,
    pub convs: Vec<ConvRow>,
    pub surveys: Vec<SurveyRow>,
    pub contacts: Vec<ContactRow>,
    pub invitations: Vec<InvitationRow>,
    pub posts: Vec<PostRow>,
    pub post_ids: Vec<String>,
    /// Customers and orders stay rows: their figures depend on the period's bounds and zone.
    pub customers: Vec<crate::model::Customer>,
    pub orders: Vec<crate::model::Order>,
    pub reviews: Vec<ReviewRow>,
    /// The earliest instant from which the table holds every message, request and conversation
    /// (`None`: from the first): a figure that looks before its period checks it reads rows that
    /// were loaded, instead of counting rows left out as none. A table read for a report that
    /// reads no conversation (`report::reads_conversations`) may hold none at all: only a figure
    /// that reads conversations may rely on this for them.
    pub complete_from: Option<crate::time::Millis>,
    /// Whether its messages were matched against a knowledge base (a workspace that imported
    /// one): without one, no question can be said answered by it.
    pub has_faq: bool,
    /// Unattached messages that `msgs` stands for without holding them, by chunk: its first and
    /// last instants and its count. For a report none of whose metrics reads messages, a store
    /// may give, for whole chunks of messages inside the report's period, one row per account,
    /// channel, agent and team (at its latest instant) instead of every message: all such a
    /// report needs of them is which groups they fall in and where the data ends — and how many
    /// are unattached, counted here for the periods that hold the whole chunk.
    pub unattached_covered: Vec<(crate::time::Millis, crate::time::Millis, u64)>,
}

impl FactTable {
    /// A request's row; `customers` numbers customer ids (the same id, the same number).
    pub fn req_row(dict: &mut Dict, customers: &mut std::collections::HashMap<String, u64>, r: &RequestFact) -> ReqRow {
        ReqRow {
            start_ms: r.start_ms,
            closed_ms: r.closed_ms.unwrap_or(i64::MIN),
            account: dict.id(&r.account),
            channel: dict.id(&r.channel),
            agent: dict.opt(r.agent.as_deref()),
            team: dict.opt(r.team.as_deref()),
            outcome: r.outcome,
            public: r.public,
            first: r.first_of_conversation,
            customer: r.customer.as_deref().map_or(0, |c| match customers.get(c) {
                Some(&n) => n,
                None => {
                    let n = customers.len() as u64 + 1;
                    customers.insert(c.to_string(), n);
                    n
                }
            }),
        }
    }

    pub fn msg_row(dict: &mut Dict, m: &MessageFact) -> MsgRow {
        MsgRow {
            ms: m.ms,
            account: dict.id(&m.account),
            channel: dict.id(&m.channel),
            agent: dict.opt(m.agent.as_deref()),
            team: dict.opt(m.team.as_deref()),
            handle_ms: m.handle_seconds.map_or(i64::MIN, |s| (s * 1000.0).round() as i64),
            role: m.role,
            public: m.public,
            in_scope: m.in_scope,
            actionable: m.actionable,
            signed: m.signed,
            feedback: m.feedback,
            label: pack_label(m.label, m.label_source, m.competitor),
            faq: m.faq.unwrap_or(0),
            themes: m.themes.0,
            unattached: m.unattached,
            answered: m.answered,
        }
    }

    /// Row `i` of the table is fact `i` of `f`.
    pub fn from_facts(f: &Facts) -> FactTable {
        let mut dict = Dict::default();
        let mut customers = std::collections::HashMap::new();
        let reqs = f.requests.iter().map(|r| Self::req_row(&mut dict, &mut customers, r)).collect();
        let msgs = f.messages.iter().map(|m| Self::msg_row(&mut dict, m)).collect();
        let convs = f.conversations.iter().map(|c| Self::conv_row(&mut dict, c)).collect();
        FactTable { dict, reqs, msgs, convs, ..FactTable::default() }
    }

    pub fn conv_row(dict: &mut Dict, c: &ConversationFact) -> ConvRow {
        let ms = |x: Option<Millis>| x.unwrap_or(i64::MIN);
        ConvRow {
            start_ms: c.start_ms,
            account: dict.id(&c.account),
            channel: dict.id(&c.channel),
            agent: dict.opt(c.agent.as_deref()),
            team: dict.opt(c.team.as_deref()),
            first_resolved_ms: ms(c.first_resolved_ms),
            final_resolved_ms: ms(c.final_resolved_ms),
            reopens: c.reopens,
            complaint_ms: ms(c.complaint_ms),
            complaint_resolved_ms: ms(c.complaint_resolved_ms),
            human_out: c.human_out,
            bot_only: c.bot_only,
            human: c.human,
            participants: c.participants,
            public: c.public,
        }
    }

    pub fn survey_row(dict: &mut Dict, a: &crate::model::SurveyAnswer, agent: Option<&str>) -> SurveyRow {
        Self::survey_row_of(dict, a, agent, None)
    }

    /// A survey row, with what its invitation says (theme; channel and account when the answer
    /// has none).
    pub fn survey_row_of(
        dict: &mut Dict,
        a: &crate::model::SurveyAnswer,
        agent: Option<&str>,
        inv: Option<&crate::model::SurveyInvitation>,
    ) -> SurveyRow {
        let channel = a.channel.as_deref().or(inv.and_then(|i| i.channel.as_deref()));
        let account = a.account.as_deref().or(inv.and_then(|i| i.account.as_deref()));
        SurveyRow {
            theme: dict.opt(inv.and_then(|i| i.theme.as_deref())),
            ms: a.answered_at.ms,
            account: dict.opt(account),
            channel: dict.opt(channel),
            agent: dict.opt(a.agent_id.as_deref().or(agent)),
            kind: SurveyKind::of(&a.survey),
            answer: if a.survey == "preferred_channel" {
                dict.opt(a.answer.as_deref().map(str::to_ascii_lowercase).as_deref())
            } else {
                NONE
            },
            score: a.score.unwrap_or(f64::NAN),
            scale_min: a.scale_min.unwrap_or(f64::NAN),
            scale_max: a.scale_max.unwrap_or(f64::NAN),
        }
    }

    pub fn contact_row(dict: &mut Dict, c: &crate::model::Contact) -> ContactRow {
        ContactRow {
            ms: c.queued_at.ms,
            account: dict.id(&c.account),
            channel: dict.id(&c.channel),
            agent: dict.opt(c.agent_id.as_deref()),
            answered_ms: c.answered_at.map_or(i64::MIN, |a| a.ms),
            ended_ms: c.ended_at.map_or(i64::MIN, |a| a.ms),
        }
    }

    pub fn push_post(&mut self, p: &crate::model::Post) {
        let id = self.post_ids.len() as u32;
        self.post_ids.push(p.post_id.clone());
        let row = PostRow {
            ms: p.published_at.ms,
            account: self.dict.id(&p.account),
            channel: self.dict.id(&p.channel),
            theme: self.dict.opt(p.theme.as_deref()),
            impressions: p.impressions,
            reach: p.reach,
            engagements: p.engagements,
            id,
        };
        self.posts.push(row);
    }

    pub fn review_row(dict: &mut Dict, r: &crate::model::Review, agent: Option<&str>) -> ReviewRow {
        ReviewRow {
            ms: r.at.ms,
            agent: dict.opt(r.agent_id.as_deref().or(agent)),
            criterion: dict.id(&r.criterion),
            score: r.score,
        }
    }

    pub fn invitation_row(dict: &mut Dict, i: &crate::model::SurveyInvitation, answered: bool) -> InvitationRow {
        InvitationRow {
            ms: i.sent_at.ms,
            account: dict.opt(i.account.as_deref()),
            channel: dict.opt(i.channel.as_deref()),
            theme: dict.opt(i.theme.as_deref()),
            kind: SurveyKind::of(&i.survey),
            answered,
        }
    }

    /// Only the facts of one account, channel or team (`dim`, named `key`): what the dashboard's
    /// filters show. Facts without that dimension (customers for a channel, reviews for an
    /// account) are left out.
    pub fn filtered(&self, dim: crate::vocab::Dim, key: &str) -> FactTable {
        use crate::vocab::Dim;
        // Covered messages (see `unattached_covered`) cannot be told apart by account.
        debug_assert!(self.unattached_covered.is_empty(), "a table with covered messages is not filtered");
        let id = self.dict.get(key).unwrap_or(NONE - 1);
        let mut t = FactTable {
            dict: self.dict.clone(),
            post_ids: self.post_ids.clone(),
            complete_from: self.complete_from,
            has_faq: self.has_faq,
            ..FactTable::default()
        };
        match dim {
            Dim::Account => {
                t.reqs = self.reqs.iter().filter(|r| r.account == id).copied().collect();
                t.msgs = self.msgs.iter().filter(|r| r.account == id).copied().collect();
                t.convs = self.convs.iter().filter(|r| r.account == id).copied().collect();
                t.surveys = self.surveys.iter().filter(|r| r.account == id).copied().collect();
                t.contacts = self.contacts.iter().filter(|r| r.account == id).copied().collect();
                t.invitations = self.invitations.iter().filter(|r| r.account == id).copied().collect();
                t.posts = self.posts.iter().filter(|r| r.account == id).copied().collect();
                t.customers = self.customers.iter().filter(|c| c.account == key).cloned().collect();
                let ids: std::collections::HashSet<&str> = t.customers.iter().map(|c| c.customer_id.as_str()).collect();
                t.orders = self.orders.iter().filter(|o| ids.contains(o.customer_id.as_str())).cloned().collect();
            }
            Dim::Channel => {
                t.reqs = self.reqs.iter().filter(|r| r.channel == id).copied().collect();
                t.msgs = self.msgs.iter().filter(|r| r.channel == id).copied().collect();
                t.convs = self.convs.iter().filter(|r| r.channel == id).copied().collect();
                t.surveys = self.surveys.iter().filter(|r| r.channel == id).copied().collect();
                t.contacts = self.contacts.iter().filter(|r| r.channel == id).copied().collect();
                t.invitations = self.invitations.iter().filter(|r| r.channel == id).copied().collect();
                t.posts = self.posts.iter().filter(|r| r.channel == id).copied().collect();
            }
            Dim::Team => {
                t.reqs = self.reqs.iter().filter(|r| r.team == id).copied().collect();
                t.msgs = self.msgs.iter().filter(|r| r.team == id).copied().collect();
                t.convs = self.convs.iter().filter(|r| r.team == id).copied().collect();
            }
            _ => return self.clone(),
        }
        t
    }

    /// The latest instant of any fact, plus one millisecond.
    pub fn data_end(&self) -> Millis {
        let a = self.reqs.iter().map(|r| r.start_ms).max();
        let b = self.msgs.iter().map(|m| m.ms).max();
        a.max(b).map_or(0, |t| t + 1)
    }
}
