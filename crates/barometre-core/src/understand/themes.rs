//! Themes: groups of words customers use for the same thing, in French and English, across the
//! trades a service answers for (telecom, transport, energy, retail, banking, public services).
//! One list serves two readers: the FAQ matching ([`super::faq`]), where words of one group share
//! a token, and the recurring themes of incoming messages (`recurring_themes`), where a message is
//! about every theme one of its words belongs to. Each word stands for its stem (doubled letters
//! written once, the first [`super::faq::Params::stem`] letters).

/// One group: its id, its names in French and English, whether it is shown as a theme of its
/// own (a few groups only help matching: « changer » says little of what a message is about),
/// and its words, folded (lower case, no accents).
pub struct Theme {
    pub id: &'static str,
    pub fr: &'static str,
    pub en: &'static str,
    pub shown: bool,
    pub words: &'static [&'static str],
}

/// A theme's name by its id (the id itself when unknown).
pub fn name(id: &'static str, lang: crate::vocab::Lang) -> &'static str {
    THEMES.iter().find(|t| t.id == id).map_or(id, |t| t.name(lang))
}

impl Theme {
    pub fn name(&self, lang: crate::vocab::Lang) -> &'static str {
        match lang {
            crate::vocab::Lang::Fr => self.fr,
            crate::vocab::Lang::En => self.en,
        }
    }
}

/// Every group, in a fixed order: a message's themes are kept as a bit set over this order.
pub const THEMES: &[Theme] = &[
    Theme {
        id: "cancel",
        fr: "Résiliation",
        en: "Cancellation",
        shown: true,
        words: &[
            "resilier",
            "resiliation",
            "annuler",
            "annulation",
            "cancel",
            "cancellation",
            "terminate",
            "termination",
            "quitter",
            "arreter",
            "stopper",
            "close",
            "fermer",
            "fermeture",
        ],
    },
    Theme {
        id: "phone",
        fr: "Téléphone",
        en: "Phone",
        shown: true,
        words: &[
            "telephone",
            "tel",
            "portable",
            "mobile",
            "smartphone",
            "phone",
            "iphone",
            "android",
            "cellphone",
            "cell",
        ],
    },
    Theme {
        id: "lost",
        fr: "Perte, vol",
        en: "Lost, stolen",
        shown: true,
        words: &[
            "perdu",
            "perte",
            "perdre",
            "vol",
            "vole",
            "voler",
            "lost",
            "lose",
            "stolen",
            "stole",
            "theft",
            "egare",
            "misplaced",
            "left",
            "oublie",
            "forgot",
            "forgotten",
        ],
    },
    Theme {
        id: "human",
        fr: "Parler à un conseiller",
        en: "Reaching a person",
        shown: true,
        words: &[
            "humain",
            "conseiller",
            "conseillere",
            "agent",
            "personne",
            "operateur",
            "human",
            "person",
            "advisor",
            "adviser",
            "representative",
            "someone",
            "quelqu",
            "staff",
        ],
    },
    Theme {
        id: "contact",
        fr: "Joindre le service",
        en: "Getting in touch",
        shown: true,
        words: &[
            "joindre",
            "contacter",
            "contact",
            "appeler",
            "appel",
            "telephoner",
            "call",
            "reach",
            "speak",
            "parler",
            "hotline",
            "numero",
            "number",
            "ecrire",
            "write",
            "chat",
        ],
    },
    Theme {
        id: "hours",
        fr: "Horaires",
        en: "Opening hours",
        shown: true,
        words: &["horaire", "horaires", "heures", "ouvert", "ouverture", "hours", "open", "opening", "closing"],
    },
    Theme {
        id: "pet",
        fr: "Animaux",
        en: "Pets",
        shown: true,
        words: &["animal", "animaux", "chien", "chiot", "dog", "dogs", "cat", "cats", "puppy", "pet", "pets"],
    },
    Theme {
        id: "luggage",
        fr: "Bagages",
        en: "Luggage",
        shown: true,
        words: &[
            "bagage",
            "bagages",
            "valise",
            "valises",
            "sac",
            "sacs",
            "luggage",
            "baggage",
            "suitcase",
            "suitcases",
            "bag",
            "bags",
            "case",
            "cases",
        ],
    },
    Theme {
        id: "child",
        fr: "Enfants",
        en: "Children",
        shown: true,
        words: &[
            "enfant", "enfants", "fils", "fille", "bebe", "ado", "mineur", "child", "children", "kid", "kids",
            "daughter", "baby", "toddler", "infant", "minor",
        ],
    },
    Theme {
        id: "email",
        fr: "Adresse e-mail",
        en: "E-mail address",
        shown: true,
        words: &["email", "mail", "courriel"],
    },
    Theme {
        id: "password",
        fr: "Identifiants, mot de passe",
        en: "Login, password",
        shown: true,
        words: &[
            "password",
            "mot",
            "passe",
            "mdp",
            "identifiant",
            "identifiants",
            "login",
            "credentials",
            "pin",
            "code",
        ],
    },
    Theme {
        id: "account",
        fr: "Espace client",
        en: "Customer account",
        shown: true,
        words: &["compte", "espace", "account", "profile", "profil"],
    },
    Theme {
        id: "abroad",
        fr: "Étranger, voyage",
        en: "Abroad, travel",
        shown: true,
        words: &[
            "etranger",
            "roaming",
            "itinerance",
            "voyage",
            "vacances",
            "abroad",
            "overseas",
            "travel",
            "holiday",
            "europe",
            "international",
            "pays",
        ],
    },
    Theme {
        id: "refund",
        fr: "Remboursement",
        en: "Refund",
        shown: true,
        words: &[
            "rembourser",
            "remboursement",
            "rembourse",
            "refund",
            "refunded",
            "reimburse",
            "reimbursement",
            "compensation",
            "dedommagement",
            "indemnisation",
            "repay",
            "money",
        ],
    },
    Theme {
        id: "pay",
        fr: "Paiement",
        en: "Payment",
        shown: true,
        words: &[
            "payer",
            "paiement",
            "payment",
            "pay",
            "regler",
            "reglement",
            "prelevement",
            "carte",
            "card",
            "cb",
            "paypal",
            "amex",
            "visa",
            "mastercard",
            "virement",
            "transfer",
            "cheque",
        ],
    },
    Theme {
        id: "bill",
        fr: "Facture",
        en: "Bill",
        shown: true,
        words: &[
            "facture",
            "factures",
            "facturation",
            "bill",
            "bills",
            "billing",
            "invoice",
            "invoices",
            "releve",
            "statement",
        ],
    },
    Theme {
        id: "delay",
        fr: "Retard",
        en: "Delay",
        shown: true,
        words: &["retard", "retarde", "delay", "delayed", "late", "lateness"],
    },
    Theme {
        id: "ticket",
        fr: "Billets",
        en: "Tickets",
        shown: true,
        words: &["billet", "billets", "ticket", "tickets", "titre", "fare", "fares", "pass"],
    },
    Theme {
        id: "change",
        fr: "Changement",
        en: "Change",
        shown: false,
        words: &[
            "changer",
            "modifier",
            "modification",
            "changement",
            "change",
            "modify",
            "update",
            "mettre",
            "switch",
            "passer",
            "upgrade",
            "downgrade",
        ],
    },
    Theme {
        id: "move",
        fr: "Déménagement",
        en: "Moving house",
        shown: true,
        words: &["demenager", "demenagement", "demenage", "move", "moving", "relocate"],
    },
    Theme {
        id: "outage",
        fr: "Panne, réseau",
        en: "Outage, network",
        shown: true,
        words: &[
            "panne",
            "coupure",
            "coupe",
            "marche",
            "fonctionne",
            "outage",
            "down",
            "working",
            "works",
            "broken",
            "connexion",
            "connection",
            "reseau",
            "network",
            "signal",
            "service",
        ],
    },
    Theme {
        id: "delivery",
        fr: "Livraison",
        en: "Delivery",
        shown: true,
        words: &[
            "livraison",
            "livrer",
            "livre",
            "colis",
            "expedition",
            "delivery",
            "deliver",
            "delivered",
            "parcel",
            "package",
            "shipping",
            "shipped",
        ],
    },
    Theme {
        id: "return",
        fr: "Retour, renvoi",
        en: "Returns",
        shown: true,
        words: &["renvoyer", "retourner", "retour", "rendre", "restituer", "restitution", "return", "send", "back"],
    },
    Theme {
        id: "box",
        fr: "Box, équipement",
        en: "Equipment",
        shown: true,
        words: &[
            "box",
            "modem",
            "routeur",
            "router",
            "decodeur",
            "equipement",
            "equipment",
            "materiel",
            "livebox",
            "hub",
        ],
    },
    Theme {
        id: "appointment",
        fr: "Rendez-vous, intervention",
        en: "Appointment, engineer visit",
        shown: true,
        words: &[
            "rendez",
            "rdv",
            "creneau",
            "technicien",
            "intervention",
            "appointment",
            "slot",
            "visit",
            "engineer",
            "technician",
        ],
    },
    Theme {
        id: "plan",
        fr: "Offre, abonnement",
        en: "Plan, subscription",
        shown: true,
        words: &[
            "forfait",
            "offre",
            "abonnement",
            "contrat",
            "formule",
            "plan",
            "tariff",
            "subscription",
            "contract",
            "package",
            "deal",
            "bundle",
        ],
    },
    Theme { id: "sim", fr: "Carte SIM", en: "SIM card", shown: true, words: &["sim", "esim", "puce"] },
    Theme {
        id: "usage",
        fr: "Consommation",
        en: "Usage",
        shown: true,
        words: &[
            "conso",
            "consommation",
            "data",
            "go",
            "gb",
            "usage",
            "allowance",
            "balance",
            "restant",
            "reste",
            "remaining",
            "left",
        ],
    },
    Theme {
        id: "disabled",
        fr: "Accessibilité, assistance",
        en: "Accessibility, assistance",
        shown: true,
        words: &[
            "handicap",
            "handicape",
            "pmr",
            "fauteuil",
            "mobilite",
            "malvoyant",
            "aveugle",
            "disabled",
            "disability",
            "wheelchair",
            "impaired",
            "blind",
            "assistance",
            "assist",
            "help",
        ],
    },
    Theme {
        id: "bike",
        fr: "Vélos, trottinettes",
        en: "Bikes, scooters",
        shown: true,
        words: &["velo", "velos", "trottinette", "bike", "bikes", "bicycle", "cycle", "scooter"],
    },
    Theme {
        id: "price",
        fr: "Prix, frais",
        en: "Prices, fees",
        shown: true,
        words: &[
            "prix", "tarif", "tarifs", "cout", "coute", "combien", "price", "prices", "cost", "costs", "charge", "fee",
            "fees", "frais",
        ],
    },
    Theme {
        id: "invoice_copy",
        fr: "Copie de document",
        en: "Document copies",
        shown: true,
        words: &["duplicata", "copie", "copy", "pdf", "telecharger", "download"],
    },
    Theme {
        id: "number",
        fr: "Garder son numéro",
        en: "Keeping one's number",
        shown: true,
        words: &["numero", "portabilite", "rio", "garder", "conserver", "keep", "port", "porting", "pac"],
    },
    Theme {
        id: "meter",
        fr: "Compteur, relevé",
        en: "Meter, readings",
        shown: true,
        words: &["compteur", "releve", "index", "linky", "meter", "reading", "readings", "smart"],
    },
    Theme {
        id: "energy",
        fr: "Énergie",
        en: "Energy",
        shown: true,
        words: &["electricite", "gaz", "energie", "electricity", "gas", "energy", "power"],
    },
    Theme {
        id: "transfer_ticket",
        fr: "Céder, transférer",
        en: "Transfers to someone else",
        shown: false,
        words: &[
            "ceder",
            "donner",
            "transferer",
            "nom",
            "name",
            "transfer",
            "give",
            "someone",
            "else",
            "brother",
            "frere",
            "soeur",
            "sister",
        ],
    },
];

// A message's themes fit the 64 bits facts keep them in.
const _: () = assert!(THEMES.len() <= 64);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::understand::faq::theme_bits;

    fn ids(text: &str) -> Vec<&'static str> {
        crate::facts::Themes(theme_bits(text)).ids().collect()
    }

    #[test]
    fn a_text_is_about_the_themes_its_words_belong_to_in_either_language() {
        assert_eq!(ids("Colis pas livré"), ["delivery"]);
        assert_eq!(ids("My parcel was never delivered"), ["delivery"]);
        assert_eq!(ids("ma FACTURE est fausse"), ["bill"]);
        assert_eq!(ids("I want to cancel, where is my bill?"), ["cancel", "bill"]);
        assert_eq!(ids("Je veux résilier, c'est une honte"), ["cancel"]);
        assert_eq!(ids("Bonjour !"), Vec::<&str>::new());
        // Doubled letters and typing slips past the stem still read.
        assert_eq!(ids("rembourssement svp"), ["refund"]);
    }

    #[test]
    fn ids_are_unique_and_every_word_can_be_read() {
        let mut seen = std::collections::HashSet::new();
        for t in THEMES {
            assert!(seen.insert(t.id), "{} twice", t.id);
            for w in t.words {
                assert_eq!(*w, crate::understand::features::folded(w), "{w} is not folded");
                // Texts are cut at anything but letters and digits, and common words dropped: a
                // word with a hyphen, or a common one, would never be read.
                assert!(w.chars().all(char::is_alphanumeric), "{w} cannot be one token");
                assert!(!crate::understand::faq::is_common(w), "{w} is a common word");
                assert_ne!(theme_bits(w) & 1 << THEMES.iter().position(|x| x.id == t.id).unwrap(), 0, "{w}");
            }
        }
    }
}
