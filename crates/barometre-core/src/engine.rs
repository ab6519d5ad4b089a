//! The conversation clock over compact rows: names interned, ids kept once, facts emitted as
//! plain rows that point back at the input. This is what lets ten million messages run in a
//! few gigabytes; [`crate::clock::run`] wraps it for callers that hold [`Message`]s.

use crate::config::Config;
use crate::facts::{ConversationFact, Facts, MessageFact, Outcome, RequestFact, Role};
use crate::fx::{FxHashMap, FxHashSet};
use crate::intern::{intern_all, intern_unique, Interner, Strings};
use crate::model::{ConversationEvent, Direction, EventKind, Message};
use crate::table::{ConvRow, Dict, MsgRow, ReqRow, NONE};
use crate::text::{actionable_from, text_facts};
use crate::time::Millis;
use crate::understand::{Label, LabelSource};

const F_IN: u16 = 1;
const F_BOT: u16 = 2;
const F_PUBLIC: u16 = 4;
const F_ACTIONABLE: u16 = 8;
const F_SCOPE_KNOWN: u16 = 16;
const F_SCOPE: u16 = 32;
const F_SIGNED_KNOWN: u16 = 64;
const F_SIGNED: u16 = 128;
const F_FEEDBACK: u16 = 256;
/// Bits 9–15 of the flags: what the text says, packed as message rows keep it
/// ([`crate::table::pack_label`]).
const LABEL_SHIFT: u16 = 9;

/// One message as the clock needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockRow {
    pub ms: Millis,
    pub handle_ms: Millis,
    /// `dims` ids
    pub account: u32,
    pub channel: u32,
    pub team: u32,
    /// `dims` id of the author when a human agent (`out`, not bot), else NONE
    pub agent: u32,
    /// `names` ids
    pub author: u32,
    pub conv: u32,
    pub reply_to: u32,
    pub customer: u32,
    /// `in`: the FAQ entry that answers it (from 1; 0: none).
    pub faq: u32,
    /// `in`: its themes (bits over `understand::themes::THEMES`).
    pub themes: u64,
    flags: u16,
}

impl ClockRow {
    fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }
    fn tri(&self, known: u16, val: u16) -> Option<bool> {
        self.has(known).then(|| self.has(val))
    }
}

/// A message's fields, borrowed, as a store or a reader has them.
pub struct RawRow<'a> {
    pub id: &'a str,
    pub ms: Millis,
    pub inbound: bool,
    pub bot: bool,
    pub account: &'a str,
    pub channel: &'a str,
    pub author: &'a str,
    pub team: Option<&'a str>,
    pub conversation_id: Option<&'a str>,
    pub reply_to: Option<&'a str>,
    pub customer: Option<&'a str>,
    pub public: bool,
    pub in_scope: Option<bool>,
    pub actionable: bool,
    pub signed: Option<bool>,
    pub handle_ms: Option<Millis>,
    /// `in` message of kind `feedback`.
    pub feedback: bool,
    /// `in` message: its label — an analyst's, else its `kind` column's, else its text's.
    pub label: Option<Label>,
    pub label_source: Option<LabelSource>,
    /// `in` message naming a configured competitor.
    pub competitor: bool,
    /// `in` message: the FAQ entry that answers it (from 1; 0: none).
    pub faq: u32,
    /// `in` message: its themes (bits over `understand::themes::THEMES`).
    pub themes: u64,
}

/// Events, compact.
#[derive(Debug, Clone)]
struct Event {
    conversation: Box<str>,
    ms: Millis,
    kind: EventKind,
    agent: u32,
}

/// Everything the clock reads.
#[derive(Default)]
pub struct ClockInput {
    /// Names that reports group by: accounts, channels, agents, teams.
    pub dims: Dict,
    /// Other names: authors, customers, conversation ids, reply targets.
    pub names: Dict,
    /// Message ids; a message's index is its id's.
    pub ids: Interner,
    pub rows: Vec<ClockRow>,
    events: Vec<Event>,
}

impl ClockInput {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The id of message `i`.
    pub fn id(&self, i: u32) -> &str {
        self.ids.get(i).unwrap_or_default()
    }
}

/// A message's clock row with its dimensions interned and its names (author, conversation,
/// reply target, customer) left to the caller: the plain way, every dimension looked up (the
/// tests' reference for [`Bulk::push`]).
#[cfg(test)]
fn pre_row(dims: &mut Dict, r: &RawRow) -> ClockRow {
    // A cache that starts empty looks every name up.
    pre_row_with(dims, &mut Recent::default(), r)
}

/// The last name each dimension had and its id (account, channel, agent, team): rows of one
/// conversation, or one account, follow each other, and comparing a few bytes is cheaper than a
/// lookup.
#[derive(Default)]
struct Recent([(String, u32); 4]);

impl Recent {
    #[inline]
    fn id(&mut self, dims: &mut Dict, field: usize, s: &str) -> u32 {
        let (last, id) = &mut self.0[field];
        if last.as_str() != s || last.is_empty() {
            *id = dims.id(s);
            last.clear();
            last.push_str(s);
        }
        *id
    }
}

/// A message's clock row with its dimensions interned through `recent` (see [`pre_row`]).
#[inline]
fn pre_row_with(dims: &mut Dict, recent: &mut Recent, r: &RawRow) -> ClockRow {
    let mut id = |field, s| recent.id(dims, field, s);
    let mut flags = 0;
    let mut set = |f: u16, on: bool| {
        if on {
            flags |= f;
        }
    };
    set(F_IN, r.inbound);
    set(F_BOT, r.bot && !r.inbound);
    set(F_PUBLIC, r.public);
    set(F_ACTIONABLE, r.actionable);
    set(F_SCOPE_KNOWN, r.in_scope.is_some());
    set(F_SCOPE, r.in_scope == Some(true));
    set(F_SIGNED_KNOWN, r.signed.is_some());
    set(F_SIGNED, r.signed == Some(true));
    set(F_FEEDBACK, r.inbound && r.feedback);
    if r.inbound {
        flags |= u16::from(crate::table::pack_label(r.label, r.label_source, r.competitor)) << LABEL_SHIFT;
    }
    let human_out = !r.inbound && !r.bot;
    ClockRow {
        ms: r.ms,
        handle_ms: r.handle_ms.unwrap_or(i64::MIN),
        // In this order, as ids are numbered in order of first appearance.
        account: id(0, r.account),
        channel: id(1, r.channel),
        team: r.team.map_or(NONE, |t| id(3, t)),
        agent: if human_out { id(2, r.author) } else { NONE },
        author: NONE,
        conv: NONE,
        reply_to: NONE,
        customer: NONE,
        faq: if r.inbound { r.faq } else { 0 },
        themes: if r.inbound { r.themes } else { 0 },
        flags,
    }
}

fn raw_row<'a>(m: &'a Message, tf: &crate::model::TextFacts) -> RawRow<'a> {
    Kept {
        id: &m.message_id,
        ms: m.created_at.ms,
        inbound: m.direction == Direction::In,
        bot: m.bot,
        account: &m.account,
        channel: &m.channel,
        author: &m.author_id,
        team: m.team.as_deref(),
        conversation_id: m.conversation_id.as_deref(),
        reply_to: m.reply_to.as_deref(),
        customer_id: m.customer_id.as_deref(),
        public: m.public,
        kind: m.kind.as_deref(),
        in_scope: m.in_scope,
        actionable: m.actionable,
        handle_seconds: m.handle_seconds,
        signed: tf.signed,
        bare_thanks: tf.bare_thanks,
        label: tf.label,
        corrected: m.corrected,
        competitor: tf.competitor,
        faq: tf.faq,
        themes: tf.themes,
    }
    .raw()
}

/// A message as a store keeps it: its columns as imported, and what the clock read in its text
/// (a signature, bare thanks) in place of the text. [`Kept::raw`] is the one place where what
/// the clock derives from them is decided (the customer of an inbound row, a channel's public
/// default, whether a row calls for action, feedback), so that a message read from a file and
/// the same message read back from any store give the same facts.
pub struct Kept<'a> {
    pub id: &'a str,
    pub ms: Millis,
    pub inbound: bool,
    pub bot: bool,
    pub account: &'a str,
    pub channel: &'a str,
    pub author: &'a str,
    pub team: Option<&'a str>,
    pub conversation_id: Option<&'a str>,
    pub reply_to: Option<&'a str>,
    pub customer_id: Option<&'a str>,
    pub public: Option<bool>,
    pub kind: Option<&'a str>,
    pub in_scope: Option<bool>,
    pub actionable: Option<bool>,
    pub handle_seconds: Option<f64>,
    pub signed: Option<bool>,
    pub bare_thanks: bool,
    /// What the text says ([`crate::understand`]); a `kind` column naming a label wins over it.
    pub label: Option<Label>,
    /// An analyst's label: wins over the column and the text, and decides scope and action.
    pub corrected: Option<Label>,
    /// The text names a configured competitor.
    pub competitor: bool,
    /// The FAQ entry that answers the text (from 1; 0: none).
    pub faq: u32,
    /// The themes of the text (bits over `understand::themes::THEMES`).
    pub themes: u64,
}

impl<'a> Kept<'a> {
    pub fn raw(&self) -> RawRow<'a> {
        // An input column wins over the text's reading: the label a `kind` names, the scope and
        // action an `in_scope` or `actionable` column says.
        let column = self.kind.and_then(Label::of_column);
        let (label, source) = match (self.inbound, self.corrected, column, self.label) {
            (false, ..) => (None, None),
            (true, Some(c), _, _) => (Some(c), Some(LabelSource::Correction)),
            (true, None, Some(k), _) => (Some(k), Some(LabelSource::Column)),
            (true, None, None, t) => (t, t.map(|_| LabelSource::Text)),
        };
        let corrected = self.inbound.then_some(self.corrected).flatten();
        let in_scope = corrected.map(Label::in_scope).or(self.in_scope).or(label.map(Label::in_scope));
        let actionable = match corrected {
            Some(c) => c.actionable(),
            None => actionable_from(self.actionable, self.kind, in_scope, self.bare_thanks, label),
        };
        RawRow {
            id: self.id,
            ms: self.ms,
            inbound: self.inbound,
            bot: self.bot,
            account: self.account,
            channel: self.channel,
            author: self.author,
            team: self.team,
            conversation_id: self.conversation_id,
            reply_to: self.reply_to,
            customer: self.customer_id.or(self.inbound.then_some(self.author)),
            public: self.public.unwrap_or_else(|| crate::model::channel_is_public(self.channel)),
            in_scope: if self.inbound { in_scope } else { self.in_scope },
            actionable: self.inbound && actionable,
            signed: self.signed,
            handle_ms: self.handle_seconds.map(|s| (s * 1000.0).round() as i64),
            feedback: self.kind == Some("feedback"),
            label,
            label_source: source,
            competitor: self.inbound && self.competitor,
            faq: if self.inbound { self.faq } else { 0 },
            themes: if self.inbound { self.themes } else { 0 },
        }
    }
}

/// Gathers many rows, then builds the [`ClockInput`] in one go ([`intern_all`]): the same input
/// as pushing the rows one by one, without a table lookup a name a row. Rows are numbered in
/// the order they are pushed, repeats of a message id included.
pub struct Bulk {
    dims: Dict,
    ids: Strings,
    /// A row's names: author (unless left out), conversation, reply target, customer (absent
    /// when it is the author).
    names: Strings,
    customer_is_author: Vec<bool>,
    rows: Vec<ClockRow>,
    events: Vec<Event>,
    /// Authors are kept for facts (explain, export, the store); reports never read them.
    authors: bool,
    recent: Recent,
}

impl Default for Bulk {
    fn default() -> Self {
        Bulk {
            dims: Dict::default(),
            ids: Strings::default(),
            names: Strings::with_stride(4),
            customer_is_author: Vec::new(),
            rows: Vec::new(),
            events: Vec::new(),
            authors: true,
            recent: Recent::default(),
        }
    }
}

impl Bulk {
    /// A bulk whose input only feeds reports: message authors are not interned (their rows'
    /// `author` is NONE), which spares the largest column of names.
    pub fn for_reports() -> Bulk {
        Bulk { authors: false, names: Strings::with_stride(3), ..Bulk::default() }
    }

    /// Names a row: author (when kept), conversation, reply target, customer.
    fn stride(&self) -> usize {
        3 + usize::from(self.authors)
    }

    /// Room for about `rows` more rows whose ids and names take `bytes` bytes (see
    /// [`Strings::reserve`]).
    pub fn reserve(&mut self, rows: usize, bytes: usize) {
        self.rows.reserve(rows);
        self.customer_is_author.reserve(rows);
        self.ids.reserve(rows, bytes / 3);
        self.names.reserve(self.stride() * rows, bytes);
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn push(&mut self, r: RawRow) {
        self.rows.push(pre_row_with(&mut self.dims, &mut self.recent, &r));
        self.ids.push(Some(r.id));
        // An inbound row's customer is most often its author: one name to intern, not two.
        let same = self.authors && r.customer == Some(r.author);
        self.customer_is_author.push(same);
        if self.authors {
            self.names.push(Some(r.author));
        }
        for s in [r.conversation_id, r.reply_to, if same { None } else { r.customer }] {
            self.names.push(s);
        }
    }

    pub fn push_message(&mut self, m: &Message, cfg: &Config) {
        let tf = text_facts(m, cfg);
        self.push(raw_row(m, &tf));
    }

    /// [`Bulk::push_message`] with what the clock already read in its text.
    pub fn push_read(&mut self, m: &Message, tf: &crate::model::TextFacts) {
        self.push(raw_row(m, tf));
    }

    /// Adds the rows of `other` after these, as if they had been pushed here: a file read in
    /// parts, on several cores, gives the input reading it whole would give.
    pub fn append(&mut self, other: Bulk) {
        let Bulk { dims, ids, names, customer_is_author, rows, events, authors, .. } = other;
        assert_eq!(self.authors, authors, "parts of one input keep authors alike");
        // The names are copied on another core meanwhile: copies of hundreds of megabytes.
        let (my_ids, my_names) = (&mut self.ids, &mut self.names);
        std::thread::scope(|sc| {
            sc.spawn(move || {
                my_ids.append(ids);
                my_names.append(names);
            });
            self.customer_is_author.extend(customer_is_author);
            let map: Vec<u32> = dims.names().map(|n| self.dims.id(n)).collect();
            let m = |id: u32| if id == NONE { NONE } else { map[id as usize] };
            self.rows.extend(rows.into_iter().map(|mut r| {
                r.account = m(r.account);
                r.channel = m(r.channel);
                r.team = m(r.team);
                r.agent = m(r.agent);
                r
            }));
            self.events.extend(events.into_iter().map(|mut e| {
                e.agent = m(e.agent);
                e
            }));
        });
    }

    /// Puts the rows pushed so far in the order of `tags` (one a row: a store's change number),
    /// then of their message ids, as if they had been pushed so; before any event. A store that
    /// reads rows back in no fixed order (a cluster's shards answer as they come) then gives the
    /// clock one input at every read: dimensions and names (customers among them) are numbered in
    /// row order, and facts kept from an earlier computation keep their numbers only when the
    /// rows they came from come first, in the same order. Sorting here costs a fraction of
    /// sorting the rows in the database (their bytes are not moved).
    pub fn order_by_tags(&mut self, tags: &[u64]) {
        assert_eq!(tags.len(), self.rows.len(), "a tag for every row");
        assert!(self.events.is_empty(), "rows are ordered before events come");
        self.ids.resolve();
        let ids = &self.ids;
        // Sorted as integers: the tag, then the id's first 16 bytes (big-endian, so that they
        // compare as the bytes do; a shorter id is padded with zeros, and sorts before a longer
        // one it begins). Whole ids are compared only where those tie.
        let prefix = |k: usize| {
            let mut b = [0u8; 16];
            if let Some(id) = ids.entry(k) {
                let n = id.len().min(16);
                b[..n].copy_from_slice(&id.as_bytes()[..n]);
            }
            u128::from_be_bytes(b)
        };
        let mut keyed: Vec<(u64, u128, u32)> = (0..self.rows.len()).map(|k| (tags[k], prefix(k), k as u32)).collect();
        keyed.sort_unstable_by(|a, b| {
            (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| {
                let (x, y) = (a.2 as usize, b.2 as usize);
                ids.entry(x).cmp(&ids.entry(y)).then(x.cmp(&y))
            })
        });
        let order: Vec<u32> = keyed.into_iter().map(|k| k.2).collect();
        self.ids.permute_rows(&order);
        self.names.permute_rows(&order);
        self.customer_is_author = order.iter().map(|&k| self.customer_is_author[k as usize]).collect();
        // Dimensions numbered again in the order the rows now name them (as `pre_row_with`
        // does: account, channel, team, agent), through a table of the old numbers.
        let old = std::mem::take(&mut self.dims);
        let mut new_of = vec![NONE; old.len()];
        let mut names: Vec<u32> = Vec::new();
        let mut map = |id: u32| {
            if id == NONE {
                return NONE;
            }
            let n = &mut new_of[id as usize];
            if *n == NONE {
                *n = names.len() as u32;
                names.push(id);
            }
            *n
        };
        self.rows = order
            .iter()
            .map(|&k| {
                let mut r = self.rows[k as usize];
                r.account = map(r.account);
                r.channel = map(r.channel);
                r.team = map(r.team);
                r.agent = map(r.agent);
                r
            })
            .collect();
        for id in names {
            self.dims.id(old.name(id).unwrap_or_default());
        }
        self.recent = Recent::default();
    }

    /// A conversation event (events are read after every message).
    pub fn push_event(&mut self, e: &ConversationEvent) {
        let agent = self.dims.opt(e.agent_id.as_deref());
        self.events.push(Event { conversation: e.conversation_id.as_str().into(), ms: e.at.ms, kind: e.event, agent });
    }

    /// The clock's input, with the first row of each message id kept, and the rows left out as
    /// `(row, the earlier row with its id, the message that row became)`.
    pub fn finish(self) -> (ClockInput, Vec<(u32, u32, u32)>) {
        let stride = self.stride();
        let Bulk { mut dims, ids, mut names, mut customer_is_author, rows, mut events, authors, .. } = self;
        // Names are interned beside the ids, on the chance that no id repeats (then the rows
        // stay as they are); else again once the repeats are left out.
        let (msgs, mut named) = std::thread::scope(|sc| {
            let names = sc.spawn(|| intern_all(&names));
            (intern_unique(ids), names.join().expect("interning does not panic"))
        });
        let mut dups = Vec::new();
        for (e, &g) in msgs.ids.iter().enumerate() {
            let first = msgs.firsts[g as usize];
            if first != e as u32 {
                dups.push((e as u32, first, g));
            }
        }
        let rows = if dups.is_empty() {
            rows
        } else {
            let mut left_out = vec![false; rows.len()];
            for d in &dups {
                left_out[d.0 as usize] = true;
            }
            names.retain(|e| !left_out[e / stride]);
            let mut k = 0;
            customer_is_author.retain(|_| {
                k += 1;
                !left_out[k - 1]
            });
            let mut kept: Vec<ClockRow> =
                rows.into_iter().zip(&left_out).filter(|(_, &out)| !out).map(|(r, _)| r).collect();
            // A name seen only in left-out rows must not become a group: dimensions again, in
            // the order the kept rows name them.
            let mut again = Dict::default();
            let mut map = |id: u32| if id == NONE { NONE } else { again.id(dims.name(id).unwrap_or_default()) };
            for r in &mut kept {
                r.account = map(r.account);
                r.channel = map(r.channel);
                r.team = map(r.team);
                r.agent = map(r.agent);
            }
            for e in &mut events {
                e.agent = map(e.agent);
            }
            dims = again;
            named = intern_all(&names);
            kept
        };
        let mut rows = rows;
        let mut ids = named.ids(&names);
        let mut next = || ids.next().expect("names for every row");
        for (r, &same) in rows.iter_mut().zip(&customer_is_author) {
            r.author = if authors { next() } else { NONE };
            r.conv = next();
            r.reply_to = next();
            let customer = next();
            r.customer = if same { r.author } else { customer };
        }
        drop(names);
        let inp = ClockInput { dims, names: Dict::from_interner(named.interner), ids: msgs.interner, rows, events };
        (inp, dups)
    }
}

/// A conversation: named by its `conversation_id` (or a missing reply target), or by a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConvKey {
    Named(u32),
    Msg(u32),
}

#[derive(Debug, Clone, Copy)]
pub struct ReqOut {
    pub row: ReqRow,
    /// Index of its first message in the input.
    pub first: u32,
    /// Index of the answering message, or NONE.
    pub answer: u32,
    pub conv: ConvKey,
    pub messages: u32,
    /// `names` id
    pub customer: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct MsgOut {
    pub row: MsgRow,
    pub msg: u32,
    pub conv: ConvKey,
    /// Index of the first message of its request (`in` only), or NONE.
    pub request: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct ConvOut {
    pub row: ConvRow,
    pub conv: ConvKey,
}

#[derive(Default)]
pub struct ClockOut {
    pub reqs: Vec<ReqOut>,
    pub msgs: Vec<MsgOut>,
    pub convs: Vec<ConvOut>,
}

impl ClockInput {
    /// Loads the name of `c` into the processor's cache ([`Interner::touch`]).
    #[inline]
    pub fn touch_conv(&self, c: ConvKey) -> u8 {
        match c {
            ConvKey::Named(n) => self.names.touch(n),
            ConvKey::Msg(i) => self.ids.touch(i),
        }
    }

    pub fn conv_name(&self, c: ConvKey) -> &str {
        match c {
            ConvKey::Named(n) => self.names.name(n).unwrap_or_default(),
            ConvKey::Msg(i) => self.id(i),
        }
    }
}

impl ClockOut {
    /// Sorts facts by instant, then id: the order they are stored and shown in.
    pub fn sort(&mut self, inp: &ClockInput) {
        let id = |i: u32| inp.id(i);
        let ClockOut { reqs, msgs, convs } = self;
        // Messages on another core, requests and conversations on this one.
        std::thread::scope(|sc| {
            sc.spawn(|| msgs.sort_unstable_by(|a, b| a.row.ms.cmp(&b.row.ms).then_with(|| id(a.msg).cmp(id(b.msg)))));
            reqs.sort_unstable_by(|a, b| {
                a.row.start_ms.cmp(&b.row.start_ms).then_with(|| id(a.first).cmp(id(b.first)))
            });
            convs.sort_unstable_by(|a, b| {
                a.row
                    .start_ms
                    .cmp(&b.row.start_ms)
                    .then_with(|| inp.conv_name(a.conv).cmp(inp.conv_name(b.conv)))
                    .then_with(|| a.row.cmp(&b.row))
            });
        });
    }

    /// The facts with their names and ids spelled out.
    pub fn facts(&self, inp: &ClockInput) -> Facts {
        let d = |id: u32| (id != NONE).then(|| inp.dims.name(id).unwrap_or_default().to_string());
        let n = |id: u32| (id != NONE).then(|| inp.names.name(id).unwrap_or_default().to_string());
        let ident = |i: u32| (i != NONE).then(|| inp.id(i).to_string());
        let requests = self
            .reqs
            .iter()
            .map(|r| RequestFact {
                request_id: inp.id(r.first).to_string(),
                conversation_id: inp.conv_name(r.conv).to_string(),
                account: d(r.row.account).unwrap_or_default(),
                channel: d(r.row.channel).unwrap_or_default(),
                customer: n(r.customer),
                public: r.row.public,
                start_ms: r.row.start_ms,
                messages: r.messages,
                first_of_conversation: r.row.first,
                outcome: r.row.outcome,
                closed_ms: r.row.closed(),
                answer_id: ident(r.answer),
                agent: d(r.row.agent),
                team: d(r.row.team),
            })
            .collect();
        let messages = self
            .msgs
            .iter()
            .map(|m| MessageFact {
                message_id: inp.id(m.msg).to_string(),
                conversation_id: inp.conv_name(m.conv).to_string(),
                account: d(m.row.account).unwrap_or_default(),
                channel: d(m.row.channel).unwrap_or_default(),
                ms: m.row.ms,
                role: m.row.role,
                author_id: n(inp.rows[m.msg as usize].author).unwrap_or_default(),
                agent: d(m.row.agent),
                team: d(m.row.team),
                public: m.row.public,
                in_scope: m.row.in_scope,
                actionable: m.row.actionable,
                signed: m.row.signed,
                handle_seconds: m.row.handle().map(|h| h as f64 / 1000.0),
                request_id: ident(m.request),
                feedback: m.row.feedback,
                label: m.row.label(),
                label_source: m.row.label_source(),
                competitor: m.row.names_competitor(),
                faq: (m.row.faq != 0).then_some(m.row.faq),
                themes: crate::facts::Themes(m.row.themes),
                answered: m.row.answered,
                unattached: m.row.unattached,
            })
            .collect();
        let at = |x: Millis| (x != i64::MIN).then_some(x);
        let conversations = self
            .convs
            .iter()
            .map(|c| ConversationFact {
                conversation_id: inp.conv_name(c.conv).to_string(),
                start_ms: c.row.start_ms,
                account: d(c.row.account).unwrap_or_default(),
                channel: d(c.row.channel).unwrap_or_default(),
                agent: d(c.row.agent),
                team: d(c.row.team),
                first_resolved_ms: at(c.row.first_resolved_ms),
                final_resolved_ms: at(c.row.final_resolved_ms),
                reopens: c.row.reopens,
                complaint_ms: at(c.row.complaint_ms),
                complaint_resolved_ms: at(c.row.complaint_resolved_ms),
                human_out: c.row.human_out,
                bot_only: c.row.bot_only,
                human: c.row.human,
                participants: c.row.participants,
                public: c.row.public,
            })
            .collect();
        Facts { requests, messages, conversations }
    }
}

/// Conversation of every message (see METRICS.md §1 and the crate docs).
/// `replied[i]`: some row replies to row `i`.
/// Only the first `parent.len()` rows exist.
fn conversations(inp: &ClockInput, parent: &[u32], replied: &[bool], gap: Millis) -> Vec<ConvKey> {
    let n = parent.len();
    let rows = &inp.rows[..n];
    let mut conv: Vec<Option<ConvKey>> = vec![None; n];
    let mut path = Vec::new();
    for i in 0..n {
        let r = &rows[i];
        if r.conv != NONE {
            // Named by its own column: no chain to walk.
            conv[i] = Some(ConvKey::Named(r.conv));
            continue;
        }
        if r.reply_to == NONE && !replied[i] {
            continue;
        }
        path.clear();
        let mut cur = i;
        let found = loop {
            if let Some(c) = conv[cur] {
                break c;
            }
            path.push(cur);
            let c = &rows[cur];
            if c.conv != NONE {
                break ConvKey::Named(c.conv);
            }
            if c.reply_to == NONE {
                break ConvKey::Msg(cur as u32);
            }
            let p = parent[cur];
            // The parent is not in the data: the chain is named after it.
            if p == NONE {
                break ConvKey::Named(c.reply_to);
            }
            // A reply cycle: stop where it closes.
            if path.len() > n {
                break ConvKey::Msg(cur as u32);
            }
            cur = p as usize;
        };
        for &j in &path {
            conv[j] = Some(found);
        }
    }
    let mut sessions: FxHashMap<(u32, u32, u32), Vec<u32>> = FxHashMap::default();
    for i in 0..n {
        if conv[i].is_some() {
            continue;
        }
        let r = &rows[i];
        if r.customer == NONE {
            // An `out` row with no customer, thread or parent stands alone.
            conv[i] = Some(ConvKey::Msg(i as u32));
        } else {
            sessions.entry((r.account, r.channel, r.customer)).or_default().push(i as u32);
        }
    }
    for (_, mut v) in sessions {
        v.sort_unstable_by(|&a, &b| {
            rows[a as usize].ms.cmp(&rows[b as usize].ms).then_with(|| inp.id(a).cmp(inp.id(b)))
        });
        let mut name = v[0];
        let mut last = rows[v[0] as usize].ms;
        for &i in &v {
            let t = rows[i as usize].ms;
            if t - last > gap {
                name = i;
            }
            last = t;
            conv[i as usize] = Some(ConvKey::Msg(name));
        }
    }
    conv.into_iter().enumerate().map(|(i, c)| c.unwrap_or(ConvKey::Msg(i as u32))).collect()
}

/// Runs the clock, on this core. Why not on two, as [`run_table`]: in an import the second core
/// is then sending the rows to the disk, and two took as long or longer (a million messages'
/// conversations in 0.19–0.22 s against 0.09–0.18 s, 2026-12-03).
pub fn run(inp: &ClockInput, cfg: &Config) -> ClockOut {
    let mut out = ClockOut::default();
    clock(inp, cfg, &mut out, None, false);
    out
}

/// Runs the clock for the conversations `keep` accepts only: their facts are the ones [`run`]
/// gives, since a conversation's facts depend on its own messages and events alone (members
/// found by [`assign`] over every row). What a store that changes a few conversations
/// recomputes.
pub fn run_only(inp: &ClockInput, cfg: &Config, keep: &dyn Fn(ConvKey) -> bool) -> ClockOut {
    let mut out = ClockOut::default();
    clock(inp, cfg, &mut out, Some(keep), false);
    out
}

/// What appending rows changes: the conversations to compute again ([`changed`]).
#[derive(Debug, Default)]
pub struct Changed {
    /// Names of the conversations whose facts may differ: every conversation of these names,
    /// before and after, is computed again (a conversation is stored by its name, and a name
    /// may name two: a `conversation_id` equal to a message id).
    pub names: FxHashSet<String>,
    /// The instants the facts of those conversations took before the rows came: one span per
    /// conversation (its messages' first and last instants; no fact of it sorts outside).
    pub spans: Vec<(Millis, Millis)>,
    /// How many of the rows held before are in them: as many message facts are replaced.
    pub held: usize,
}

/// The conversations whose facts differ, or may, once rows `before..` are appended to the
/// first `before` rows and events naming `events` are added: the new rows' conversations, the
/// conversations a held row leaves or joins, those of a held row that a new row answers, and
/// those the events name. Every other conversation keeps its members, its events and so its
/// facts. Why it holds only for appended rows: a held row that changed would move names' and
/// dimensions' numbers, which stored facts keep (the caller computes everything again then).
///
/// `also`: held rows whose content changed in place, their keys (id, instant, thread, reply
/// target, customer, account, channel) as they were (an analyst's label): their conversations too.
pub fn changed<'a>(
    inp: &ClockInput,
    before: usize,
    also: &[u32],
    events: impl IntoIterator<Item = &'a str>,
    gap: Millis,
) -> Changed {
    let (was, was_replied) = assign(inp, before, gap);
    let (now, now_replied) = assign(inp, inp.rows.len(), gap);
    let mut keys: FxHashSet<ConvKey> = FxHashSet::default();
    for &i in also {
        keys.insert(was[i as usize]);
        keys.insert(now[i as usize]);
    }
    for i in 0..inp.rows.len() {
        if i >= before {
            keys.insert(now[i]);
        } else if was[i] != now[i] || was_replied[i] != now_replied[i] {
            keys.insert(was[i]);
            keys.insert(now[i]);
        }
    }
    let mut names: FxHashSet<String> = keys.iter().map(|&k| inp.conv_name(k).to_string()).collect();
    names.extend(events.into_iter().map(str::to_string));
    // The conversations held before under those names, with their spans.
    let mut spans: FxHashMap<ConvKey, (Millis, Millis)> = FxHashMap::default();
    let mut held = 0;
    for (i, &k) in was.iter().enumerate() {
        if names.contains(inp.conv_name(k)) {
            held += 1;
            let ms = inp.rows[i].ms;
            let e = spans.entry(k).or_insert((ms, ms));
            e.0 = e.0.min(ms);
            e.1 = e.1.max(ms);
        }
    }
    let mut spans: Vec<(Millis, Millis)> = spans.into_values().collect();
    spans.sort_unstable();
    Changed { names, spans, held }
}

/// Where the first `n` rows point: each row's parent among them (the row its `reply_to` names,
/// or NONE), and whether some row among them replies to it.
fn parents(inp: &ClockInput, n: usize) -> (Vec<u32>, Vec<bool>) {
    let parent: Vec<u32> = inp.rows[..n]
        .iter()
        .map(|r| {
            if r.reply_to == NONE {
                NONE
            } else {
                match inp.names.name(r.reply_to).and_then(|p| inp.ids.find(p)) {
                    Some(p) if (p as usize) < n => p,
                    _ => NONE,
                }
            }
        })
        .collect();
    // Rows some message replies to: they start chains, and an `out` row without ids that a
    // customer answered is the start of a thread, not a reply attached to nothing.
    let mut replied = vec![false; n];
    for &p in &parent {
        if p != NONE {
            replied[p as usize] = true;
        }
    }
    (parent, replied)
}

/// What the clock reads of the rows around each of the first `n`: its conversation and
/// whether a row replies to it, as if only those rows existed. Comparing this for the rows a
/// store held with this for all rows names every conversation whose facts a change of rows can
/// touch (a row that moved, or that a new row answers; new rows' own).
pub fn assign(inp: &ClockInput, n: usize, gap: Millis) -> (Vec<ConvKey>, Vec<bool>) {
    let (parent, replied) = parents(inp, n);
    (conversations(inp, &parent, &replied, gap), replied)
}

/// The clock straight into the compact table reports aggregate: the facts' rows only, none of
/// the ids that stores and `explain` keep beside them (less memory written, no copy after).
/// Conversations are computed on two cores: a one-shot report over a million messages took
/// 0.04–0.06 s less (median of eight pairs, 2026-12-03).
pub fn run_table(inp: &ClockInput, cfg: &Config) -> crate::table::FactTable {
    let mut t = crate::table::FactTable { dict: inp.dims.clone(), ..Default::default() };
    clock(inp, cfg, &mut t, None, true);
    t
}

/// Where the clock puts its facts: every fact with its ids ([`ClockOut`]), or only the rows
/// (a [`crate::table::FactTable`]). The clock's one loop serves both.
trait Sink: Default {
    fn reserve(&mut self, reqs: usize, msgs: usize, convs: usize);
    fn reqs_len(&self) -> usize;
    fn push_req(&mut self, r: ReqOut);
    fn req(&mut self, q: usize) -> &mut ReqRow;
    /// The request `q` took one more message.
    fn more(&mut self, q: usize);
    fn answer(&mut self, q: usize, msg: u32);
    fn msgs_len(&self) -> usize;
    fn push_msg(&mut self, m: MsgOut);
    fn msg(&mut self, k: usize) -> &mut MsgRow;
    fn push_conv(&mut self, c: ConvOut);
    /// Appends the facts of `other` (a sink made empty, by `Default`) after these.
    fn append(&mut self, other: Self);
}

impl Sink for ClockOut {
    fn reserve(&mut self, reqs: usize, msgs: usize, convs: usize) {
        self.reqs.reserve(reqs);
        self.msgs.reserve(msgs);
        self.convs.reserve(convs);
    }
    fn reqs_len(&self) -> usize {
        self.reqs.len()
    }
    fn push_req(&mut self, r: ReqOut) {
        self.reqs.push(r);
    }
    fn req(&mut self, q: usize) -> &mut ReqRow {
        &mut self.reqs[q].row
    }
    fn more(&mut self, q: usize) {
        self.reqs[q].messages += 1;
    }
    fn answer(&mut self, q: usize, msg: u32) {
        self.reqs[q].answer = msg;
    }
    fn msgs_len(&self) -> usize {
        self.msgs.len()
    }
    fn push_msg(&mut self, m: MsgOut) {
        self.msgs.push(m);
    }
    fn msg(&mut self, k: usize) -> &mut MsgRow {
        &mut self.msgs[k].row
    }
    fn push_conv(&mut self, c: ConvOut) {
        self.convs.push(c);
    }
    fn append(&mut self, mut other: Self) {
        self.reqs.append(&mut other.reqs);
        self.msgs.append(&mut other.msgs);
        self.convs.append(&mut other.convs);
    }
}

impl Sink for crate::table::FactTable {
    fn reserve(&mut self, reqs: usize, msgs: usize, convs: usize) {
        self.reqs.reserve(reqs);
        self.msgs.reserve(msgs);
        self.convs.reserve(convs);
    }
    fn reqs_len(&self) -> usize {
        self.reqs.len()
    }
    fn push_req(&mut self, r: ReqOut) {
        self.reqs.push(r.row);
    }
    fn req(&mut self, q: usize) -> &mut ReqRow {
        &mut self.reqs[q]
    }
    fn more(&mut self, _: usize) {}
    fn answer(&mut self, _: usize, _: u32) {}
    fn msgs_len(&self) -> usize {
        self.msgs.len()
    }
    fn push_msg(&mut self, m: MsgOut) {
        self.msgs.push(m.row);
    }
    fn msg(&mut self, k: usize) -> &mut MsgRow {
        &mut self.msgs[k]
    }
    fn push_conv(&mut self, c: ConvOut) {
        self.convs.push(c.row);
    }
    fn append(&mut self, mut other: Self) {
        self.reqs.append(&mut other.reqs);
        self.msgs.append(&mut other.msgs);
        self.convs.append(&mut other.convs);
    }
}

fn clock<S: Sink + Send>(
    inp: &ClockInput,
    cfg: &Config,
    out: &mut S,
    keep: Option<&dyn Fn(ConvKey) -> bool>,
    two_cores: bool,
) {
    let n = inp.rows.len();
    let rows = &inp.rows;
    let (parent, replied) = parents(inp, n);
    let conv = conversations(inp, &parent, &replied, cfg.session_gap_ms);

    // Members of each conversation, contiguous (a counting sort by dense conversation number).
    // Numbers are looked up by name id or message index, in plain arrays: no hashing.
    let mut named_num = vec![NONE; inp.names.len()];
    let mut msg_num = vec![NONE; n];
    let mut keys: Vec<ConvKey> = Vec::new();
    let num: Vec<u32> = conv
        .iter()
        .map(|c| {
            let slot = match *c {
                ConvKey::Named(k) => &mut named_num[k as usize],
                ConvKey::Msg(i) => &mut msg_num[i as usize],
            };
            if *slot == NONE {
                keys.push(*c);
                *slot = keys.len() as u32 - 1;
            }
            *slot
        })
        .collect();
    let dense = |k: ConvKey| {
        let x = match k {
            ConvKey::Named(k) => named_num[k as usize],
            ConvKey::Msg(i) => msg_num[i as usize],
        };
        (x != NONE).then_some(x)
    };
    let mut start = vec![0u32; keys.len() + 1];
    for &c in &num {
        start[c as usize + 1] += 1;
    }
    for i in 0..keys.len() {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut members = vec![0u32; n];
    for (i, &c) in num.iter().enumerate() {
        members[fill[c as usize] as usize] = i as u32;
        fill[c as usize] += 1;
    }
    drop(fill);

    // Effective instant and reply depth: a reply never precedes what it answers.
    let mut eff: Vec<Millis> = vec![i64::MIN; n];
    let mut depth: Vec<u32> = vec![0; n];
    let mut path: Vec<usize> = Vec::new();
    for i in 0..n {
        if eff[i] != i64::MIN {
            continue;
        }
        // Most rows reply to nothing: their own instant, no walk.
        if parent[i] == NONE {
            eff[i] = rows[i].ms;
            continue;
        }
        path.clear();
        let mut cur = i;
        let mut seen: FxHashSet<usize> = FxHashSet::default();
        let base = loop {
            path.push(cur);
            let p = parent[cur];
            if p == NONE || num[p as usize] != num[cur] || !seen.insert(cur) || path.len() > n {
                break None;
            }
            let p = p as usize;
            if eff[p] != i64::MIN {
                break Some((eff[p], depth[p]));
            }
            cur = p;
        };
        let mut acc = base;
        while let Some(j) = path.pop() {
            let v = match acc {
                None => (rows[j].ms, 0),
                Some((t, d)) => (rows[j].ms.max(t), d + 1),
            };
            eff[j] = v.0;
            depth[j] = v.1;
            acc = Some(v);
        }
    }

    // Events by conversation.
    let mut events: FxHashMap<u32, Vec<&Event>> = FxHashMap::default();
    for e in &inp.events {
        let named = inp.names.get(&e.conversation).map(ConvKey::Named).and_then(dense);
        let by_msg = || inp.ids.find(&e.conversation).map(ConvKey::Msg).and_then(dense);
        if let Some(c) = named.or_else(by_msg) {
            events.entry(c).or_default().push(e);
        }
    }

    if keep.is_none() {
        out.reserve(n / 2, n, keys.len());
    }
    let convs = Convs { inp, keys: &keys, members: &members, start: &start, eff: &eff, depth: &depth, events, replied };
    // `two_cores`, past a few thousand rows: the conversations holding the second half of the
    // messages are computed on another core, into a sink of their own appended after. The facts
    // come in the same order as from one loop (a conversation's facts refer to messages by
    // index, never to the sink's places). The second sink's facts are copied into the room
    // reserved above, so at the end the facts of the second half are held twice (a million
    // messages' table: some 30 MB more at the peak; growing the first sink only when appending
    // would hold the first half twice instead, and copy it).
    if two_cores && keep.is_none() && n >= PARALLEL_ROWS {
        let half = start.partition_point(|&s| (s as usize) < n / 2).min(keys.len());
        let mut second = S::default();
        second.reserve(n / 4, n - start[half] as usize, keys.len() - half);
        std::thread::scope(|sc| {
            let other = sc.spawn(|| {
                convs.facts(half..keys.len(), None, &mut second);
                second
            });
            convs.facts(0..half, None, out);
            out.append(other.join().expect("the clock does not panic"));
        });
    } else {
        convs.facts(0..keys.len(), keep, out);
    }
}

/// Rows past which [`clock`] computes conversations on two cores (few in this crate's tests, so
/// that their inputs take that way).
const PARALLEL_ROWS: usize = if cfg!(test) { 64 } else { 16_384 };

/// What [`clock`] knows of every row once conversations are found: what computing each
/// conversation's facts reads.
struct Convs<'a> {
    inp: &'a ClockInput,
    keys: &'a [ConvKey],
    /// Rows of conversation `c`: `members[start[c]..start[c + 1]]`.
    members: &'a [u32],
    start: &'a [u32],
    /// Effective instant and reply depth of each row.
    eff: &'a [Millis],
    depth: &'a [u32],
    events: FxHashMap<u32, Vec<&'a Event>>,
    replied: Vec<bool>,
}

impl Convs<'_> {
    /// Pushes into `out` the facts of conversations `range` (those `keep` accepts).
    fn facts(&self, range: std::ops::Range<usize>, keep: Option<&dyn Fn(ConvKey) -> bool>, out: &mut impl Sink) {
        let Convs { inp, keys, members, start, eff, depth, events, replied } = self;
        let rows = &inp.rows;
        let mut items: Vec<(Millis, u32, u8, u32)> = Vec::new();
        // For each message fact of the conversation, the index of its request in `out.reqs`.
        let mut req_of: Vec<usize> = Vec::new();
        // The customers of the conversation at hand (repeats removed at its end).
        let mut customers: Vec<u32> = Vec::new();
        for c in range {
            if keep.is_some_and(|k| !k(keys[c])) {
                continue;
            }
            let ms = &members[start[c] as usize..start[c + 1] as usize];
            let evs = events.get(&(c as u32)).map(Vec::as_slice).unwrap_or(&[]);
            items.clear();
            for &i in ms {
                let dir = if rows[i as usize].has(F_IN) { 0 } else { 1 };
                items.push((eff[i as usize], depth[i as usize], dir, i));
            }
            for (k, e) in evs.iter().enumerate() {
                items.push((e.ms, u32::MAX, 2, k as u32));
            }
            items.sort_unstable_by(|a, b| {
                (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)).then_with(|| {
                    if a.2 == 2 {
                        evs[a.3 as usize].kind.as_str().cmp(evs[b.3 as usize].kind.as_str())
                    } else {
                        inp.id(a.3).cmp(inp.id(b.3))
                    }
                })
            });
            let key = keys[c];
            let mut open: Option<usize> = None;
            // The first message of the request open, or of the last one.
            let mut open_first = NONE;
            let mut seen_customer = false;
            let mut first_request = true;
            let req_base = out.reqs_len();
            let msg_base = out.msgs_len();
            req_of.clear();
            let mut conv = ConvRow {
                start_ms: i64::MIN,
                account: NONE,
                channel: NONE,
                agent: NONE,
                team: NONE,
                first_resolved_ms: i64::MIN,
                final_resolved_ms: i64::MIN,
                reopens: 0,
                complaint_ms: i64::MIN,
                complaint_resolved_ms: i64::MIN,
                human_out: 0,
                bot_only: false,
                human: false,
                participants: 0,
                public: false,
            };
            let mut bots = 0u32;
            customers.clear();
            for &(t, _, kind, i) in &items {
                if kind == 2 {
                    let e = evs[i as usize];
                    // An event an agent signed (a resolution, an examination) is a person's work.
                    if e.agent != NONE {
                        conv.human = true;
                    }
                    match e.kind {
                        EventKind::Resolved => {
                            if conv.first_resolved_ms == i64::MIN {
                                conv.first_resolved_ms = t;
                            }
                            conv.final_resolved_ms = t;
                            if conv.complaint_ms != i64::MIN && conv.complaint_resolved_ms == i64::MIN {
                                conv.complaint_resolved_ms = t;
                            }
                        }
                        EventKind::Reopened => {
                            conv.reopens += 1;
                            conv.final_resolved_ms = i64::MIN;
                        }
                        EventKind::Complaint | EventKind::Escalated if conv.complaint_ms == i64::MIN => {
                            conv.complaint_ms = t
                        }
                        _ => {}
                    }
                    if e.kind == EventKind::Examined {
                        if let Some(r) = open.take() {
                            let rq = out.req(r);
                            rq.outcome = Outcome::Examined;
                            rq.closed_ms = t;
                            if rq.agent == NONE {
                                rq.agent = e.agent;
                            }
                        }
                    }
                    continue;
                }
                let r = &rows[i as usize];
                if conv.start_ms == i64::MIN {
                    conv.start_ms = r.ms;
                    conv.account = r.account;
                    conv.channel = r.channel;
                }
                if !r.has(F_IN) {
                    if r.has(F_BOT) {
                        bots += 1;
                    } else {
                        conv.human_out += 1;
                    }
                }
                let mut fact = MsgOut {
                    row: MsgRow {
                        ms: r.ms,
                        account: r.account,
                        channel: r.channel,
                        agent: NONE,
                        team: r.team,
                        handle_ms: r.handle_ms,
                        role: Role::Customer,
                        public: r.has(F_PUBLIC),
                        in_scope: r.tri(F_SCOPE_KNOWN, F_SCOPE),
                        actionable: false,
                        signed: None,
                        feedback: r.has(F_FEEDBACK),
                        label: (r.flags >> LABEL_SHIFT) as u8,
                        faq: r.faq,
                        themes: r.themes,
                        answered: false,
                        unattached: !r.has(F_IN)
                            && r.conv == NONE
                            && r.reply_to == NONE
                            && r.customer == NONE
                            && !replied[i as usize],
                    },
                    msg: i,
                    conv: key,
                    request: NONE,
                };
                let mut my_req = usize::MAX;
                if r.has(F_IN) {
                    seen_customer = true;
                    conv.public |= r.has(F_PUBLIC);
                    if r.customer != NONE {
                        customers.push(r.customer);
                    }
                    fact.row.actionable = r.has(F_ACTIONABLE);
                    let q = match open {
                        Some(q) => {
                            out.more(q);
                            q
                        }
                        None => {
                            open_first = i;
                            out.push_req(ReqOut {
                                row: ReqRow {
                                    start_ms: t,
                                    closed_ms: i64::MIN,
                                    account: r.account,
                                    channel: r.channel,
                                    agent: NONE,
                                    team: r.team,
                                    outcome: Outcome::Unanswered,
                                    public: r.has(F_PUBLIC),
                                    first: first_request,
                                    // The customer's interned name (interning confirms equal hashes
                                    // on the bytes): two customers are never one.
                                    customer: if r.customer == NONE { 0 } else { u64::from(r.customer) + 1 },
                                },
                                first: i,
                                answer: NONE,
                                conv: key,
                                messages: 1,
                                customer: r.customer,
                            });
                            first_request = false;
                            open = Some(out.reqs_len() - 1);
                            out.reqs_len() - 1
                        }
                    };
                    fact.request = open_first;
                    my_req = q;
                } else if r.has(F_BOT) {
                    fact.row.role = Role::Bot;
                } else {
                    fact.row.agent = r.agent;
                    fact.row.signed = r.tri(F_SIGNED_KNOWN, F_SIGNED);
                    fact.row.role = if let Some(q) = open.take() {
                        out.answer(q, i);
                        let rq = out.req(q);
                        rq.outcome = Outcome::Answered;
                        rq.closed_ms = t;
                        rq.agent = r.agent;
                        if r.team != NONE {
                            rq.team = r.team;
                        }
                        Role::Reply
                    } else if seen_customer {
                        Role::Reply
                    } else {
                        Role::Proactive
                    };
                }
                out.push_msg(fact);
                req_of.push(my_req);
            }
            // Customer messages take the agent and team of whoever handled their request.
            for (k, &q) in req_of.iter().enumerate() {
                if q != usize::MAX && q >= req_base {
                    let (agent, team, answered) = {
                        let rq = out.req(q);
                        (rq.agent, rq.team, rq.outcome == Outcome::Answered)
                    };
                    let f = out.msg(msg_base + k);
                    f.agent = agent;
                    f.answered = answered;
                    if f.team == NONE {
                        f.team = team;
                    }
                }
            }
            // The conversation is credited to whoever answered its first request.
            if out.reqs_len() > req_base {
                let first = out.req(req_base);
                conv.agent = first.agent;
                conv.team = first.team;
            }
            customers.sort_unstable();
            customers.dedup();
            conv.participants = customers.len() as u32;
            conv.human |= conv.human_out > 0;
            // A bot's conversation that a person signed an event of is a person's: never both.
            conv.bot_only = !conv.human && bots > 0;
            if conv.start_ms != i64::MIN {
                out.push_conv(ConvOut { row: conv, conv: key });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain way, one row at a time: every id and name looked up as it comes, the first
    /// version of a repeated id kept. What [`Bulk`] must equal.
    fn one_by_one(msgs: &[Message], events: &[ConversationEvent], cfg: &Config) -> (ClockInput, Vec<usize>) {
        let mut inp = ClockInput::default();
        let mut kept = Vec::new();
        for (k, m) in msgs.iter().enumerate() {
            let tf = text_facts(m, cfg);
            let r = raw_row(m, &tf);
            if !inp.ids.intern(r.id).1 {
                continue;
            }
            let mut row = pre_row(&mut inp.dims, &r);
            row.author = inp.names.opt(Some(r.author));
            row.conv = inp.names.opt(r.conversation_id);
            row.reply_to = inp.names.opt(r.reply_to);
            row.customer = inp.names.opt(r.customer);
            inp.rows.push(row);
            kept.push(k);
        }
        for e in events {
            let agent = inp.dims.opt(e.agent_id.as_deref());
            inp.events.push(Event {
                conversation: e.conversation_id.as_str().into(),
                ms: e.at.ms,
                kind: e.event,
                agent,
            });
        }
        (inp, kept)
    }

    #[test]
    fn bulk_input_equals_rows_pushed_one_by_one() {
        let cfg = Config::default();
        let data = crate::demo::generate(7, 20, 1_780_000_000_000);
        let mut msgs = data.messages.clone();
        // Repeats of an id: one identical, one with other content naming a new account.
        let mut again = msgs[3].clone();
        again.account = "only-in-a-repeat".into();
        msgs.insert(10, again);
        msgs.insert(20, msgs[5].clone());
        let (one, kept) = one_by_one(&msgs, &data.events, &cfg);
        // In two parts, appended: the same as in one.
        let (mut bulk, mut rest) = (Bulk::default(), Bulk::default());
        for (k, m) in msgs.iter().enumerate() {
            // Row 20 repeats row 5 across the parts.
            if k < 15 { &mut bulk } else { &mut rest }.push_message(m, &cfg);
        }
        bulk.append(rest);
        for e in &data.events {
            bulk.push_event(e);
        }
        let (inp, dups) = bulk.finish();
        assert_eq!(dups, [(10, 3, 3), (20, 5, 5)]);
        assert_eq!(inp.rows, one.rows);
        assert_eq!((&inp.ids, &inp.dims, &inp.names), (&one.ids, &one.dims, &one.names));
        assert!(inp.dims.get("only-in-a-repeat").is_none());
        let agents = |i: &ClockInput| i.events.iter().map(|e| e.agent).collect::<Vec<_>>();
        assert_eq!(agents(&inp), agents(&one));
        assert!(inp.rows.len() > 1000 && kept.len() == inp.rows.len());

        // For reports only: the same rows and names, authors left out.
        let mut lean = Bulk::for_reports();
        for m in &msgs {
            lean.push_message(m, &cfg);
        }
        let (lean, _) = lean.finish();
        let name = |i: &ClockInput, id: u32| (id != NONE).then(|| i.names.name(id).unwrap_or_default().to_string());
        assert_eq!(lean.rows.len(), one.rows.len());
        for (a, b) in lean.rows.iter().zip(&one.rows) {
            assert_eq!(a.author, NONE);
            assert_eq!((name(&lean, a.conv), name(&lean, a.customer)), (name(&one, b.conv), name(&one, b.customer)));
            assert_eq!(name(&lean, a.reply_to), name(&one, b.reply_to));
            let strip = |r: &ClockRow| ClockRow { author: 0, conv: 0, customer: 0, reply_to: 0, ..*r };
            assert_eq!(strip(a), strip(b));
        }
    }

    /// Rows pushed in any order, then ordered by their tags and ids, give the input of the same
    /// rows pushed in that order: rows, ids, dimensions and names numbered alike.
    #[test]
    fn rows_ordered_by_tags_give_the_input_of_rows_pushed_in_that_order() {
        let cfg = Config::default();
        let mut data = crate::demo::generate(11, 8, 1_780_000_000_000);
        // Half the ids longer than the 16 bytes sorted as integers, all alike there.
        for m in data.messages.iter_mut().step_by(2) {
            m.message_id = format!("a-long-shared-prefix-{}", m.message_id);
        }
        let msgs = &data.messages;
        // Three changes; each row's place drawn by a fixed shuffle (a stride prime to the count).
        let tag = |k: usize| [30u64, 10, 20][k % 3];
        let n = msgs.len();
        let gcd = |mut a: usize, mut b: usize| {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        let stride = (7919..).find(|&s| gcd(s, n) == 1).unwrap();
        let shuffled: Vec<usize> = (0..n).map(|k| k * stride % n).collect();
        let mut bulk = Bulk::default();
        for &k in &shuffled {
            bulk.push_message(&msgs[k], &cfg);
        }
        bulk.order_by_tags(&shuffled.iter().map(|&k| tag(k)).collect::<Vec<_>>());
        let mut sorted: Vec<usize> = (0..n).collect();
        sorted.sort_by(|&a, &b| tag(a).cmp(&tag(b)).then_with(|| msgs[a].message_id.cmp(&msgs[b].message_id)));
        let mut plain = Bulk::default();
        for &k in &sorted {
            plain.push_message(&msgs[k], &cfg);
        }
        for b in [&mut bulk, &mut plain] {
            for e in &data.events {
                b.push_event(e);
            }
        }
        let ((a, _), (b, _)) = (bulk.finish(), plain.finish());
        assert!(a.rows.len() > 500);
        assert_eq!(a.rows, b.rows);
        assert_eq!((&a.ids, &a.dims, &a.names), (&b.ids, &b.dims, &b.names));
        let agents = |i: &ClockInput| i.events.iter().map(|e| e.agent).collect::<Vec<_>>();
        assert_eq!(agents(&a), agents(&b));
        // And the order is not the pushed one: the shuffle changed the numbers.
        let mut as_pushed = Bulk::default();
        for &k in &shuffled {
            as_pushed.push_message(&msgs[k], &cfg);
        }
        assert_ne!(as_pushed.finish().0.rows, b.rows);
    }

    /// A message of the appended-rows property: fields drawn from small pools, so that
    /// threads, reply chains (missing, forward, cyclic), sessions and names shared by a thread
    /// and a message id all occur.
    #[allow(clippy::type_complexity)]
    fn drawn(
        k: usize,
        (at, inbound, conv, reply, customer, account, bot): (u8, bool, u8, u8, u8, bool, bool),
    ) -> Message {
        let gap = Config::default().session_gap_ms;
        Message {
            message_id: format!("m{k}"),
            created_at: crate::time::Stamp { ms: 1_780_000_000_000 + i64::from(at) * gap / 3, offset_s: 0 },
            direction: if inbound { Direction::In } else { Direction::Out },
            account: if account { "x" } else { "y" }.into(),
            channel: "chat".into(),
            author_id: if inbound { format!("u{customer}") } else { "agent".into() },
            conversation_id: match conv {
                0 => Some("c1".into()),
                1 => Some("c2".into()),
                2 => Some("m3".into()),
                _ => None,
            },
            reply_to: (reply < 12).then(|| format!("m{reply}")),
            customer_id: (customer < 2).then(|| format!("u{customer}")),
            bot,
            ..Message::empty()
        }
    }

    fn input(msgs: &[Message], events: &[ConversationEvent], cfg: &Config) -> ClockInput {
        let mut bulk = Bulk::default();
        for m in msgs {
            bulk.push_message(m, cfg);
        }
        for e in events {
            bulk.push_event(e);
        }
        bulk.finish().0
    }

    fn sorted(inp: &ClockInput, mut out: ClockOut) -> (ClockOut, Facts) {
        out.sort(inp);
        let f = out.facts(inp);
        (out, f)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]
        /// Rows appended to held rows change the facts of the conversations [`changed`] names
        /// only; [`run_only`] gives those as the whole clock does; the held facts of those
        /// conversations lie in its spans and number its `held` messages.
        #[test]
        fn appended_rows_change_the_facts_of_the_conversations_changed_names_only(
            rows in proptest::collection::vec((0u8..12, proptest::bool::ANY, 0u8..6, 0u8..30, 0u8..3, proptest::bool::ANY, proptest::bool::weighted(0.15)), 1..40),
            evs in proptest::collection::vec((0u8..5, 0u8..12, 0usize..6, proptest::bool::ANY), 0..6),
            cut in 0.0f64..=1.0,
            ev_cut in 0.0f64..=1.0,
        ) {
            let cfg = Config::default();
            let msgs: Vec<Message> = rows.iter().enumerate().map(|(k, &r)| drawn(k, r)).collect();
            let events: Vec<ConversationEvent> = evs
                .iter()
                .map(|&(c, at, kind, agent)| ConversationEvent {
                    conversation_id: ["c1", "c2", "m1", "m3", "zz"][c as usize].into(),
                    event: EventKind::ALL[kind],
                    at: crate::time::Stamp { ms: 1_780_000_000_000 + i64::from(at) * cfg.session_gap_ms / 3 + 1, offset_s: 0 },
                    agent_id: agent.then(|| "agent".into()),
                })
                .collect();
            let before = (msgs.len() as f64 * cut) as usize;
            let ev_before = (events.len() as f64 * ev_cut) as usize;
            let old = input(&msgs[..before], &events[..ev_before], &cfg);
            let all = input(&msgs, &events, &cfg);
            let ch = changed(&all, before, &[], events[ev_before..].iter().map(|e| e.conversation_id.as_str()), cfg.session_gap_ms);
            let (old_out, old_facts) = sorted(&old, run(&old, &cfg));
            let (all_out, all_facts) = sorted(&all, run(&all, &cfg));
            let out = |n: &str| !ch.names.contains(n);
            // Untouched conversations: the same facts before and after.
            let keep = |f: &Facts, inside: bool| Facts {
                requests: f.requests.iter().filter(|r| out(&r.conversation_id) != inside).cloned().collect(),
                messages: f.messages.iter().filter(|r| out(&r.conversation_id) != inside).cloned().collect(),
                conversations: f.conversations.iter().filter(|r| out(&r.conversation_id) != inside).cloned().collect(),
            };
            proptest::prop_assert_eq!(keep(&old_facts, false), keep(&all_facts, false));
            // Their rows too, names' and dimensions' numbers included, when the held
            // dimensions keep theirs (what a store checks before patching).
            if old.dims.names().zip(all.dims.names()).all(|(a, b)| a == b) {
                let reqs = |o: &ClockOut, i: &ClockInput| o.reqs.iter().filter(|r| out(i.conv_name(r.conv))).map(|r| r.row).collect::<Vec<_>>();
                let msgs = |o: &ClockOut, i: &ClockInput| o.msgs.iter().filter(|r| out(i.conv_name(r.conv))).map(|r| r.row).collect::<Vec<_>>();
                let convs = |o: &ClockOut, i: &ClockInput| o.convs.iter().filter(|r| out(i.conv_name(r.conv))).map(|r| r.row).collect::<Vec<_>>();
                proptest::prop_assert_eq!(reqs(&old_out, &old), reqs(&all_out, &all));
                proptest::prop_assert_eq!(msgs(&old_out, &old), msgs(&all_out, &all));
                proptest::prop_assert_eq!(convs(&old_out, &old), convs(&all_out, &all));
            }
            // The touched ones held `held` messages, within the spans.
            let before_in = keep(&old_facts, true);
            proptest::prop_assert_eq!(before_in.messages.len(), ch.held);
            let within = |ms: Millis| ch.spans.iter().any(|&(a, b)| a <= ms && ms <= b);
            proptest::prop_assert!(before_in.messages.iter().all(|m| within(m.ms)));
            proptest::prop_assert!(before_in.requests.iter().all(|r| within(r.start_ms)));
            proptest::prop_assert!(before_in.conversations.iter().all(|c| within(c.start_ms)));
            // Computed alone, they are what the whole clock gives.
            let (only_out, only_facts) = sorted(&all, run_only(&all, &cfg, &|k| ch.names.contains(all.conv_name(k))));
            proptest::prop_assert_eq!(only_facts, keep(&all_facts, true));
            let rows = |o: &ClockOut| (o.reqs.iter().map(|r| r.row).collect::<Vec<_>>(), o.msgs.iter().map(|r| r.row).collect::<Vec<_>>());
            let inside = ClockOut {
                reqs: all_out.reqs.iter().filter(|r| !out(all.conv_name(r.conv))).copied().collect(),
                msgs: all_out.msgs.iter().filter(|r| !out(all.conv_name(r.conv))).copied().collect(),
                convs: Vec::new(),
            };
            proptest::prop_assert_eq!(rows(&only_out), rows(&inside));
        }
    }

    #[test]
    fn the_table_from_the_clock_equals_the_facts_rows() {
        let cfg = Config::default();
        let data = crate::demo::generate(11, 30, 1_780_000_000_000);
        let mut bulk = Bulk::default();
        for m in &data.messages {
            bulk.push_message(m, &cfg);
        }
        for e in &data.events {
            bulk.push_event(e);
        }
        let (inp, _) = bulk.finish();
        let full = run(&inp, &cfg);
        assert!(full.reqs.len() > 500 && full.convs.len() > 100);
        assert!(full.reqs.iter().any(|r| r.row.outcome == Outcome::Examined), "events reach the requests");
        let rows = crate::table::FactTable {
            dict: inp.dims.clone(),
            reqs: full.reqs.iter().map(|r| r.row).collect(),
            msgs: full.msgs.iter().map(|m| m.row).collect(),
            convs: full.convs.iter().map(|c| c.row).collect(),
            ..Default::default()
        };
        assert_eq!(run_table(&inp, &cfg), rows);
    }
}
