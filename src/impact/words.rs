//! The impact report's words, in French (first) and English: headings, sentences, the names
//! of the counters' labels, and the language's way of writing numbers and dates
//! (`1 234` and `1er déc. 2026`; `1,234` and `Dec 1, 2026`).

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// The language a report is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "fr" | "fr-CA" | "français" => Some(Lang::Fr),
            "en" | "en-CA" | "english" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// A fixed sentence or heading of the report.
    pub(crate) fn t(self, key: Word) -> &'static str {
        let (fr, en) = key.text();
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    /// A whole number as the language writes it: `12 345` (no-break space) or `12,345`.
    pub(crate) fn number(self, value: u64) -> String {
        let digits = value.to_string();
        let separator = match self {
            Lang::Fr => '\u{a0}',
            Lang::En => ',',
        };
        let mut out = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index).is_multiple_of(3) {
                out.push(separator);
            }
            out.push(digit);
        }
        out
    }

    /// A signed change: `+12`, `−3` (a true minus sign), `0`.
    pub(crate) fn change(self, value: i64) -> String {
        let magnitude = self.number(value.unsigned_abs());
        match value.signum() {
            1 => format!("+{magnitude}"),
            -1 => format!("\u{2212}{magnitude}"),
            _ => magnitude,
        }
    }

    /// A date: `1er déc. 2026`, `15 janv. 2027`; `Dec 1, 2026`.
    pub(crate) fn date(self, date: NaiveDate) -> String {
        let month = self.month_short(date.month());
        match self {
            Lang::Fr => {
                let day = if date.day() == 1 {
                    "1er".to_string()
                } else {
                    date.day().to_string()
                };
                format!("{day} {month} {}", date.year())
            }
            Lang::En => format!("{month} {}, {}", date.day(), date.year()),
        }
    }

    /// A day without its year: `1er déc.`, `Dec 1`.
    pub(crate) fn day_month(self, date: NaiveDate) -> String {
        let month = self.month_short(date.month());
        match self {
            Lang::Fr if date.day() == 1 => format!("1er {month}"),
            Lang::Fr => format!("{} {month}", date.day()),
            Lang::En => format!("{month} {}", date.day()),
        }
    }

    pub(crate) fn month_short(self, month: u32) -> &'static str {
        const FR: [&str; 12] = [
            "janv.", "févr.", "mars", "avr.", "mai", "juin", "juill.", "août", "sept.", "oct.",
            "nov.", "déc.",
        ];
        const EN: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let index = (month.clamp(1, 12) - 1) as usize;
        match self {
            Lang::Fr => FR[index],
            Lang::En => EN[index],
        }
    }

    /// The readable name of a counter's label (a language, an urgency, an outcome, a
    /// theme, a resource, a wait); an unknown label (a theme an author added) as it is.
    pub fn label(self, metric: &str, label: &str) -> String {
        let known = match (metric, label) {
            ("sessions_started", "fr") => Some(("français", "French")),
            ("sessions_started", "en") => Some(("anglais", "English")),
            (_, "urgent") => Some(("urgentes", "urgent")),
            (_, "normal") => Some(("non urgentes", "not urgent")),
            ("outcomes", "resolved") => Some(("réglée", "resolved")),
            ("outcomes", "referred") => Some(("orientée vers une ressource", "referred")),
            ("outcomes", "emergency_services") => {
                Some(("services d’urgence", "emergency services"))
            }
            ("outcomes", "youth_left") => Some(("le ou la jeune est parti·e", "youth left")),
            ("outcomes", "no_response") => Some(("sans réponse", "no response")),
            ("outcomes", "abusive") => Some(("abusive", "abusive")),
            ("outcomes", "abandoned") => Some((
                "partie avant qu’une personne réponde",
                "left before anyone answered",
            )),
            ("handoffs_refused", "queue_full") => Some(("file pleine", "queue full")),
            ("handoffs_refused", "client_cap") => Some((
                "trop de demandes du même endroit",
                "too many from one place",
            )),
            ("handoffs_refused", "abusive") => Some((
                "après une conversation abusive",
                "after an abusive conversation",
            )),
            ("themes", "ami") => Some(("aider un·e ami·e", "helping a friend")),
            ("themes", "autochtones") => {
                Some(("Premières Nations et Inuit", "First Nations and Inuit"))
            }
            ("themes", "comprendre") => {
                Some(("comprendre l’exploitation", "understanding exploitation"))
            }
            ("themes", "images") => Some(("images intimes", "intimate images")),
            ("themes", "leurre") => Some(("leurre en ligne", "online luring")),
            ("themes", "recrutement") => Some(("recrutement", "recruitment")),
            ("themes", "sextorsion") => Some(("sextorsion", "sextortion")),
            ("themes", "signalement") => Some(("signalement", "report")),
            ("themes", "urgence") => Some(("urgence", "emergency")),
            ("resources_shown", "urgence") => Some(("911", "911")),
            ("resources_shown", "tel_jeunes") => Some(("Tel-jeunes", "Tel-jeunes")),
            ("resources_shown", "jeunesse_j_ecoute") => {
                Some(("Jeunesse, J’écoute", "Kids Help Phone"))
            }
            ("resources_shown", "info_aide_violence_sexuelle") => {
                Some(("Info-aide violence sexuelle", "Sexual Violence Helpline"))
            }
            ("resources_shown", "info_social") => Some(("Info-Social 811", "Info-Social 811")),
            ("resources_shown", "espoir_mieux_etre") => Some((
                "Ligne d’écoute d’espoir pour le mieux-être",
                "Hope for Wellness Help Line",
            )),
            ("resources_shown", "cyberaide") => Some(("Cyberaide.ca", "Cybertip.ca")),
            ("resources_shown", "aidez_moi_svp") => Some(("AidezMoiSVP.ca", "NeedHelpNow.ca")),
            ("resources_shown", "cavac") => Some(("CAVAC", "CAVAC")),
            ("nodes_reached", "fin_aide_oui") => Some(("Oui, ça m’a aidé", "Yes, it helped")),
            ("nodes_reached", "fin_aide_un_peu") => Some(("Un peu", "A little")),
            ("nodes_reached", "fin_aide_non") => Some(("Non, pas vraiment", "Not really")),
            ("reports", "submitted") => Some(("faits", "made")),
            ("reports", "in_review") => Some(("mis en examen", "taken into review")),
            ("reports", "forwarded") => Some(("transmis", "passed on")),
            ("reports", "closed") => Some(("fermés", "closed")),
            _ => None,
        };
        if let Some((fr, en)) = known {
            return match self {
                Lang::Fr => fr,
                Lang::En => en,
            }
            .to_string();
        }
        if metric == "wait_time" {
            if let Some((urgency, bucket)) = label.split_once('|') {
                return format!("{} · {}", self.label(metric, urgency), self.wait(bucket));
            }
        }
        label.to_string()
    }

    fn wait(self, bucket: &str) -> String {
        let (fr, en) = match bucket {
            "<1 min" => ("moins de 1 min", "under 1 min"),
            "1-5 min" => ("1 à 5 min", "1 to 5 min"),
            "5-15 min" => ("5 à 15 min", "5 to 15 min"),
            "15-60 min" => ("15 à 60 min", "15 to 60 min"),
            ">60 min" => ("plus de 60 min", "over 60 min"),
            other => (other, other),
        };
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
        .to_string()
    }
}

/// Every fixed heading and sentence of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Word {
    Title,
    Intro,
    Suppression,
    Masked,
    Crash,
    Axis,
    Period,
    Previous,
    Current,
    PreviousShort,
    Change,
    Figure,
    AxisAwareness,
    AxisHelp,
    AxisIndigenous,
    AxisFeedback,
    AxisAwarenessAbout,
    AxisHelpAbout,
    AxisIndigenousAbout,
    AxisFeedbackAbout,
    Conversations,
    ConversationsByLanguage,
    ThemesReached,
    ResourcesShown,
    UrgentRecognised,
    Requests,
    RequestsByUrgency,
    Answered,
    Unavailable,
    LongWaits,
    Escalated,
    Paged,
    Refused,
    WaitTimes,
    Outcomes,
    ReportsMade,
    ReportsFollowedUp,
    IndigenousReach,
    IndigenousResources,
    FeedbackAnswers,
    ByPeriod,
    Exits,
    Node,
    Reached,
    LeftHere,
    NotDrawn,
    Highest,
    NothingToDraw,
    Label,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Word {
    fn text(self) -> (&'static str, &'static str) {
        use Word::*;
        match self {
            Title => ("relais — rapport d’impact", "relais — impact report"),
            Intro => (
                "Chiffres anonymes : des totaux par jour, sans aucune trace d’une conversation en particulier. Ils suivent les axes du Plan d’action gouvernemental 2026-2029 sur l’exploitation sexuelle des mineur·es.",
                "Anonymous figures: daily totals, with no trace of any one conversation. They follow the axes of the Québec government action plan 2026-2029 on the sexual exploitation of minors.",
            ),
            Suppression => (
                "Un nombre de 1 à 4 est écrit « < 5 », pour que personne ne puisse être reconnu·e.",
                "A count from 1 to 4 is written \"< 5\" so that no one can be singled out.",
            ),
            Masked => (
                "« x » : nombre masqué pour qu’on ne puisse pas retrouver un « < 5 » par soustraction.",
                "\"x\": count hidden so that a \"< 5\" cannot be found again by subtraction.",
            ),
            Crash => (
                "Les compteurs sont écrits toutes les 30 secondes, à chaque changement de jour et à l’arrêt du serveur : un arrêt brutal peut faire perdre au plus 30 secondes de compteurs.",
                "Counters are written every 30 seconds, at each change of day and when the server stops: a crash can lose at most 30 seconds of counts.",
            ),
            Axis => ("Axe du plan", "Axis of the plan"),
            Period => ("Période", "Period"),
            Previous => ("Période précédente", "Previous period"),
            Current => ("Cette période", "This period"),
            PreviousShort => ("Précédente", "Previous"),
            Change => ("Écart", "Change"),
            Figure => ("Indicateur", "Indicator"),
            AxisAwareness => ("Sensibilisation et prévention", "Awareness and prevention"),
            AxisHelp => ("Aide aux victimes", "Help for victims"),
            AxisIndigenous => ("Volet autochtone : Premières Nations et Inuit", "Indigenous component: First Nations and Inuit"),
            AxisFeedback => ("« Est-ce que ça t’a aidé ? »", "\"Did this help?\""),
            AxisAwarenessAbout => (
                "Les jeunes qui se sont informé·es de façon anonyme, et ce qu’ils et elles ont lu.",
                "Youths who looked for information anonymously, and what they read.",
            ),
            AxisHelpAbout => (
                "Les demandes pour parler à une personne, la réponse reçue, et les signalements anonymes.",
                "Requests to talk to a person, the answer they got, and anonymous reports.",
            ),
            AxisIndigenousAbout => (
                "La portée du parcours pour les jeunes des Premières Nations et Inuit, et les ressources qui leur sont offertes.",
                "The reach of the path for First Nations and Inuit youths, and the resources offered to them.",
            ),
            AxisFeedbackAbout => (
                "La réponse anonyme à la question posée à la fin d’une conversation.",
                "The anonymous answer to the question asked at the end of a conversation.",
            ),
            Conversations => ("Conversations commencées", "Conversations started"),
            ConversationsByLanguage => ("Conversations par langue", "Conversations by language"),
            ThemesReached => ("Thèmes consultés", "Themes reached"),
            ResourcesShown => ("Ressources d’aide montrées", "Help resources shown"),
            UrgentRecognised => ("Messages urgents reconnus (danger, menaces, idées de suicide)", "Urgent messages recognised (danger, threats, thoughts of suicide)"),
            Requests => ("Demandes pour parler à une personne", "Requests to talk to a person"),
            RequestsByUrgency => ("Demandes par urgence", "Requests by urgency"),
            Answered => ("Demandes répondues par une personne", "Requests answered by a person"),
            Unavailable => ("Personne de garde au moment de la demande", "Nobody on call at the time of the request"),
            LongWaits => ("Attentes plus longues que prévu", "Waits longer than expected"),
            Escalated => ("Demandes urgentes relancées (sans réponse après 1 min)", "Urgent requests escalated (unanswered after 1 min)"),
            Paged => ("Demandes urgentes envoyées au téléavertisseur", "Urgent requests sent to the pager"),
            Refused => ("Demandes non urgentes refusées", "Non-urgent requests refused"),
            WaitTimes => ("Temps pour joindre une personne", "Time to reach a person"),
            Outcomes => ("Fin des conversations avec une personne", "How conversations with a person ended"),
            ReportsMade => ("Signalements anonymes faits", "Anonymous reports made"),
            ReportsFollowedUp => ("Suivi des signalements", "Follow-up of reports"),
            IndigenousReach => ("Conversations qui ont pris le parcours Premières Nations et Inuit", "Conversations that took the First Nations and Inuit path"),
            IndigenousResources => ("Ressources pour les Premières Nations et Inuit montrées", "First Nations and Inuit resources shown"),
            FeedbackAnswers => ("Réponses", "Answers"),
            ByPeriod => ("Par période", "By period"),
            Exits => ("Où les jeunes quittent la conversation", "Where youths leave the conversation"),
            Node => ("Étape du parcours", "Step of the path"),
            Reached => ("Atteinte", "Reached"),
            LeftHere => ("Quittée là", "Left there"),
            NotDrawn => ("valeur(s) de moins de 5 ou masquée(s), non dessinée(s)", "value(s) under 5 or hidden, not drawn"),
            Highest => ("Le plus élevé", "Highest"),
            NothingToDraw => ("Rien pour cette période.", "Nothing in this period."),
            Label => ("Libellé", "Label"),
            Day => ("jour", "day"),
            Week => ("semaine", "week"),
            Month => ("mois", "month"),
            Quarter => ("trimestre", "quarter"),
            Year => ("année", "year"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_dates_follow_the_language() {
        assert_eq!(Lang::Fr.number(1234), "1\u{a0}234");
        assert_eq!(Lang::En.number(1234567), "1,234,567");
        assert_eq!(Lang::Fr.number(999), "999");
        assert_eq!(Lang::Fr.change(-3), "\u{2212}3");
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(Lang::Fr.date(day), "1er déc. 2026");
        assert_eq!(Lang::En.date(day), "Dec 1, 2026");
        let day = NaiveDate::from_ymd_opt(2027, 1, 15).unwrap();
        assert_eq!(Lang::Fr.date(day), "15 janv. 2027");
    }
}
