//! Message understanding: the label of every incoming message (`docs/labelling-guide.md`) —
//! spam, off topic, complaint, technical question, question, suggestion, negative or positive
//! feedback, thanks only, other — and what follows from it: in scope (neither spam nor off
//! topic), actionable (in scope and not a bare thanks).
//!
//! Offline and deterministic: a linear model over hashed features ([`features`]) with word
//! classes in French and English ([`lexicon`]), trained when first needed on the train part of
//! the labelled set shipped inside the binary (`data/labelled/`), in a fixed order — the same
//! labels on every machine. One model reads both languages (their words differ), so no language
//! has to be guessed from a short text. Its [`version`] is part of the facts' fingerprint: a new
//! model recomputes stored facts from the texts.
//!
//! ```
//! use barometre_core::understand::{label, Label};
//! assert_eq!(label("Gagnez 500 € par jour depuis chez vous 👉 bit.ly/xx"), Label::Spam);
//! assert!(!Label::ThanksOnly.actionable() && Label::ThanksOnly.in_scope());
//! ```

use serde::Deserialize;
use std::sync::OnceLock;

pub mod faq;
pub mod features;
pub mod lexicon;
pub mod model;
pub mod themes;

/// A message's label, in the guide's order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Spam,
    OffTopic,
    Complaint,
    TechnicalQuestion,
    Question,
    Suggestion,
    FeedbackNegative,
    FeedbackPositive,
    ThanksOnly,
    Other,
}

impl Label {
    pub const ALL: [Label; 10] = [
        Label::Spam,
        Label::OffTopic,
        Label::Complaint,
        Label::TechnicalQuestion,
        Label::Question,
        Label::Suggestion,
        Label::FeedbackNegative,
        Label::FeedbackPositive,
        Label::ThanksOnly,
        Label::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Label::Spam => "spam",
            Label::OffTopic => "off_topic",
            Label::Complaint => "complaint",
            Label::TechnicalQuestion => "technical_question",
            Label::Question => "question",
            Label::Suggestion => "suggestion",
            Label::FeedbackNegative => "feedback_negative",
            Label::FeedbackPositive => "feedback_positive",
            Label::ThanksOnly => "thanks_only",
            Label::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Label> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Label::ALL.into_iter().find(|l| l.as_str() == s).or(match s.as_str() {
            "offtopic" | "hors_sujet" => Some(Label::OffTopic),
            "positive" | "praise" => Some(Label::FeedbackPositive),
            "negative" => Some(Label::FeedbackNegative),
            "thanks" => Some(Label::ThanksOnly),
            _ => None,
        })
    }

    /// The label a source's `kind` column names. `other` is left out: exports use it for "not
    /// classified", which says nothing about the message.
    pub fn of_column(kind: &str) -> Option<Label> {
        Label::parse(kind).filter(|l| *l != Label::Other)
    }

    /// Its name for people, in French or English.
    pub fn name(self, lang: crate::vocab::Lang) -> &'static str {
        use crate::vocab::Lang::{En, Fr};
        match (self, lang) {
            (Label::Spam, _) => "spam",
            (Label::OffTopic, Fr) => "hors sujet",
            (Label::OffTopic, En) => "off topic",
            (Label::Complaint, Fr) => "réclamation",
            (Label::Complaint, En) => "complaint",
            (Label::TechnicalQuestion, Fr) => "question technique",
            (Label::TechnicalQuestion, En) => "technical question",
            (Label::Question, _) => "question",
            (Label::Suggestion, _) => "suggestion",
            (Label::FeedbackNegative, Fr) => "avis négatif",
            (Label::FeedbackNegative, En) => "negative feedback",
            (Label::FeedbackPositive, Fr) => "avis positif",
            (Label::FeedbackPositive, En) => "positive feedback",
            (Label::ThanksOnly, Fr) => "simple remerciement",
            (Label::ThanksOnly, En) => "thanks only",
            (Label::Other, Fr) => "autre",
            (Label::Other, En) => "other",
        }
    }

    /// Its place in [`Label::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// A label as compact rows keep it: 0 none, else its place in [`Label::ALL`] + 1.
    pub fn code(l: Option<Label>) -> u8 {
        l.map_or(0, |l| l as u8 + 1)
    }

    /// The label a row's code stands for.
    pub fn of_code(code: u8) -> Option<Label> {
        code.checked_sub(1).and_then(|i| Label::ALL.get(i as usize).copied())
    }

    /// Within the service's purpose (seed 000 §4): neither spam nor off topic.
    pub fn in_scope(self) -> bool {
        !matches!(self, Label::Spam | Label::OffTopic)
    }

    /// Needs a reply (seed 000 §5): in scope, and not a bare thanks.
    pub fn actionable(self) -> bool {
        self.in_scope() && self != Label::ThanksOnly
    }
}

/// Where a message's label comes from, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelSource {
    /// An analyst corrected it.
    Correction,
    /// The source said it (a `kind` column).
    Column,
    /// Read in the text by the model.
    Text,
}

impl LabelSource {
    pub fn code(s: Option<LabelSource>) -> u8 {
        match s {
            None | Some(LabelSource::Text) => 0,
            Some(LabelSource::Column) => 1,
            Some(LabelSource::Correction) => 2,
        }
    }
    pub fn of_code(c: u8, labelled: bool) -> Option<LabelSource> {
        labelled.then_some(match c {
            1 => LabelSource::Column,
            2 => LabelSource::Correction,
            _ => LabelSource::Text,
        })
    }
}

/// One labelled message of `data/labelled/`.
#[derive(Debug, Clone, Deserialize)]
pub struct Labelled {
    pub id: String,
    pub lang: String,
    #[serde(default)]
    pub sector: String,
    #[serde(default)]
    pub channel: String,
    pub text: String,
    pub label: String,
}

const FR: &str = include_str!("../../../data/labelled/fr.jsonl");
const EN: &str = include_str!("../../../data/labelled/en.jsonl");

/// Which part of the labelled set a message is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    /// Fixed by the id: a message is in the test part when the FNV-1a hash of its id is a
    /// multiple of 4 (about a quarter of each language).
    pub fn of(id: &str) -> Split {
        if fnv(id.as_bytes()).is_multiple_of(4) {
            Split::Test
        } else {
            Split::Train
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    crate::words::Fnv::default().write(bytes).finish()
}

/// Reads JSON Lines of labelled messages; a bad line is said with its number.
pub fn read_labelled(name: &str, text: &str) -> Result<Vec<Labelled>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let l: Labelled = serde_json::from_str(line).map_err(|e| format!("{name}:{}: {e}", i + 1))?;
        if Label::parse(&l.label).is_none() {
            return Err(format!("{name}:{}: unknown label `{}` (docs/labelling-guide.md lists them)", i + 1, l.label));
        }
        out.push(l);
    }
    Ok(out)
}

/// The labelled set shipped with Baromètre (French, then English).
pub fn labelled_set() -> Vec<Labelled> {
    let mut v = read_labelled("data/labelled/fr.jsonl", FR).expect("the shipped labelled set reads");
    v.extend(read_labelled("data/labelled/en.jsonl", EN).expect("the shipped labelled set reads"));
    v
}

fn example(text: &str, y: usize) -> model::Example {
    let mut f = Vec::new();
    features::features(text, &mut f);
    model::Example { x: model::weigh(f), y }
}

/// Trains a model on `messages`.
pub fn train(messages: &[&Labelled]) -> model::Model {
    let data: Vec<model::Example> = messages
        .iter()
        .map(|l| example(&l.text, Label::parse(&l.label).map_or(Label::Other.index(), Label::index)))
        .collect();
    model::Model::train(&data, model::TRAINING)
}

/// The shipped model: trained on the train part of the labelled set, once per process.
fn shipped() -> &'static model::Model {
    static MODEL: OnceLock<model::Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let set = labelled_set();
        let train_part: Vec<&Labelled> = set.iter().filter(|l| Split::of(&l.id) == Split::Train).collect();
        train(&train_part)
    })
}

/// Labels a text with a model.
pub fn label_with(m: &model::Model, text: &str) -> Label {
    let mut f = Vec::new();
    features::features(text, &mut f);
    Label::ALL[m.predict(&model::weigh(f))]
}

/// The label of an incoming message's text, by the shipped model.
pub fn label(text: &str) -> Label {
    label_with(shipped(), text)
}

/// Whether a text names one of `names` as whole words, case and accents ignored (« chez Free »,
/// "@Free", "#SFR" name Free and SFR; "freedom" names neither).
pub fn names_any(text: &str, names: &[String]) -> bool {
    if names.is_empty() {
        return false;
    }
    let text = features::folded(text);
    names.iter().any(|n| {
        let n = features::folded(n.trim());
        !n.is_empty()
            && text.match_indices(&n).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let after = text[i + n.len()..].chars().next();
                before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
            })
    })
}

/// The reading and training code's version, part of [`version`].
const ALGORITHM: &str = "understand/2";

// Labels fit the four bits rows keep them in.
const _: () = assert!(Label::ALL.len() < 16);

/// A fingerprint of the shipped model: its labelled set, word classes, features and training.
pub fn version() -> u64 {
    static V: OnceLock<u64> = OnceLock::new();
    *V.get_or_init(|| {
        // Raise ALGORITHM with any change to how `features` reads a text or `model` trains: the
        // stored labels were read by the code as much as by the data.
        let mut h = crate::words::Fnv::default().write(ALGORITHM.as_bytes()).write(FR.as_bytes()).write(EN.as_bytes());
        for (c, ws) in lexicon::LISTS {
            h = h.write(c.name().as_bytes());
            for w in ws.iter() {
                h = h.write(w.as_bytes()).write(&[0x1f]);
            }
        }
        for w in lexicon::NEGATIONS {
            h = h.write(w.as_bytes());
        }
        // A message's themes are read with the label, and kept the same way.
        for t in themes::THEMES {
            h = h.write(t.id.as_bytes()).write(&[0x1e]);
            for w in t.words {
                h = h.write(w.as_bytes()).write(&[0x1f]);
            }
        }
        h = h.write(faq::rules().as_bytes());
        h.write(format!("{:?}{}", model::TRAINING, features::BITS).as_bytes()).finish()
    })
}

/// Precision, recall and F1 of one label (or of a derived yes/no).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Messages that have it, by the labels.
    pub support: u64,
}

impl Scores {
    fn of(tp: u64, fp: u64, fn_: u64) -> Scores {
        let p = if tp + fp == 0 { 0.0 } else { tp as f64 / (tp + fp) as f64 };
        let r = if tp + fn_ == 0 { 0.0 } else { tp as f64 / (tp + fn_) as f64 };
        let f1 = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
        Scores { precision: p, recall: r, f1, support: tp + fn_ }
    }
}

/// How a model's labels compare with the labelled ones.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluation {
    pub messages: u64,
    pub accuracy: f64,
    /// Mean F1 over the ten labels.
    pub macro_f1: f64,
    pub labels: Vec<(&'static str, Scores)>,
    pub in_scope: Scores,
    pub actionable: Scores,
    /// `confusion[i][j]`: messages labelled `Label::ALL[i]` that the model called `Label::ALL[j]`.
    pub confusion: Vec<Vec<u64>>,
}

/// Targets the shipped model must meet on the test part (issue 12).
pub const TARGET_MACRO_F1: f64 = 0.80;
pub const TARGET_COMPLAINT_F1: f64 = 0.85;
pub const TARGET_ACTIONABLE_F1: f64 = 0.85;

impl Evaluation {
    /// Compares `predicted` with `expected`, pairwise.
    pub fn of(pairs: impl IntoIterator<Item = (Label, Label)>) -> Evaluation {
        let mut c = vec![vec![0u64; Label::ALL.len()]; Label::ALL.len()];
        let (mut sc, mut ac) = ([0u64; 3], [0u64; 3]);
        let mut n = 0;
        for (want, got) in pairs {
            n += 1;
            c[want.index()][got.index()] += 1;
            for (acc, f) in [(&mut sc, Label::in_scope as fn(Label) -> bool), (&mut ac, Label::actionable)] {
                match (f(want), f(got)) {
                    (true, true) => acc[0] += 1,
                    (false, true) => acc[1] += 1,
                    (true, false) => acc[2] += 1,
                    (false, false) => {}
                }
            }
        }
        let labels: Vec<(&'static str, Scores)> = Label::ALL
            .iter()
            .map(|l| {
                let i = l.index();
                let tp = c[i][i];
                let fp = (0..c.len()).map(|j| c[j][i]).sum::<u64>() - tp;
                let fn_ = c[i].iter().sum::<u64>() - tp;
                (l.as_str(), Scores::of(tp, fp, fn_))
            })
            .collect();
        let right: u64 = (0..c.len()).map(|i| c[i][i]).sum();
        Evaluation {
            messages: n,
            accuracy: if n == 0 { 0.0 } else { right as f64 / n as f64 },
            macro_f1: labels.iter().map(|(_, s)| s.f1).sum::<f64>() / labels.len() as f64,
            labels,
            in_scope: Scores::of(sc[0], sc[1], sc[2]),
            actionable: Scores::of(ac[0], ac[1], ac[2]),
            confusion: c,
        }
    }

    pub fn f1(&self, label: Label) -> f64 {
        self.labels[label.index()].1.f1
    }

    /// Whether the targets are met.
    pub fn meets_targets(&self) -> bool {
        self.macro_f1 >= TARGET_MACRO_F1
            && self.f1(Label::Complaint) >= TARGET_COMPLAINT_F1
            && self.actionable.f1 >= TARGET_ACTIONABLE_F1
    }
}

/// The shipped model on a part of the labelled set (or on any labelled messages).
pub fn evaluate(messages: &[Labelled]) -> Evaluation {
    let m = shipped();
    Evaluation::of(messages.iter().map(|l| (Label::parse(&l.label).unwrap_or(Label::Other), label_with(m, &l.text))))
}

/// Cross-validation over the train part only (`folds` folds by id): what choices of features
/// and training are measured by, so that the test part is never used to make them.
pub fn cross_validate(folds: usize) -> Evaluation {
    let set = labelled_set();
    let train_part: Vec<&Labelled> = set.iter().filter(|l| Split::of(&l.id) == Split::Train).collect();
    let fold = |l: &Labelled| (fnv(l.id.as_bytes()) >> 8) as usize % folds.max(2);
    let mut pairs = Vec::new();
    for f in 0..folds.max(2) {
        let fit: Vec<&Labelled> = train_part.iter().copied().filter(|l| fold(l) != f).collect();
        let m = train(&fit);
        for l in train_part.iter().filter(|l| fold(l) == f) {
            pairs.push((Label::parse(&l.label).unwrap_or(Label::Other), label_with(&m, &l.text)));
        }
    }
    Evaluation::of(pairs)
}

#[cfg(test)]
mod tests;
