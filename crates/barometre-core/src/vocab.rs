//! The words every part of the core shares: how figures are grouped ([`Dim`]) and the language
//! they are said in ([`Lang`]). A leaf: it depends on nothing of the core, and everything may
//! depend on it.

/// A grouping dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    Account,
    Channel,
    Agent,
    Team,
    Day,
    Week,
    Month,
    /// Publications' theme (other facts have none).
    Theme,
}

impl Dim {
    pub const ALL: [Dim; 8] =
        [Dim::Account, Dim::Channel, Dim::Agent, Dim::Team, Dim::Day, Dim::Week, Dim::Month, Dim::Theme];
    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Account => "account",
            Dim::Channel => "channel",
            Dim::Agent => "agent",
            Dim::Team => "team",
            Dim::Day => "day",
            Dim::Week => "week",
            Dim::Month => "month",
            Dim::Theme => "theme",
        }
    }
    pub fn parse(s: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.as_str() == s)
    }
    pub fn is_time(self) -> bool {
        matches!(self, Dim::Day | Dim::Week | Dim::Month)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s.to_ascii_lowercase().as_str() {
            "fr" | "français" | "francais" => Some(Lang::Fr),
            "en" | "english" => Some(Lang::En),
            _ => None,
        }
    }
}
