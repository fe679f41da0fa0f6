//! The sentences relais itself says, outside the scripts: error messages, the gentle
//! answer to words the flow did not expect, and the defaults around a handoff. French
//! first, English too; any other language falls back to French until translated.

/// Everything relais says in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    BadRequest,
    BadJson,
    UnknownType,
    MissingField,
    BinaryFrame,
    HelloFirst,
    AlreadyStarted,
    TooLarge,
    TextTooLong,
    RateLimited,
    UnknownSession,
    NotExpected,
    Unauthorized,
    ServerBusy,
    Internal,
    NotUnderstood,
    ChooseBelow,
    ResourcesBelow,
    TalkToSomeone,
    StartAgain,
    HandoffTimeout,
    HandoffUnavailable,
    HandoffEnded,
    HolderAway,
    HolderBack,
    HolderGone,
    Released,
    NotUnderstoodWaiting,
    YouthLeft,
    Forbidden,
    NotFound,
    Conflict,
    LoginFailed,
}

/// The sentence for `text` in `lang` (French for any language not translated yet).
pub fn say(lang: &str, text: Text) -> &'static str {
    if lang == "en" {
        english(text)
    } else {
        french(text)
    }
}

fn french(text: Text) -> &'static str {
    match text {
        Text::BadRequest => "Ce message n'a pas pu être lu.",
        Text::BadJson => "Ce message n'a pas pu être lu : ce n'est pas du JSON valide.",
        Text::UnknownType => "Ce type de message n'existe pas.",
        Text::MissingField => "Il manque une information dans ce message.",
        Text::BinaryFrame => "Seuls les messages texte sont acceptés.",
        Text::HelloFirst => "La conversation commence par un message « hello ».",
        Text::AlreadyStarted => "La conversation est déjà commencée.",
        Text::TooLarge => "Ce message est trop long.",
        Text::TextTooLong => "Ton message est trop long. Essaie en moins de mots, ou en plusieurs messages.",
        Text::RateLimited => "Tu envoies des messages très vite. Attends un petit moment, puis réessaie.",
        Text::UnknownSession => "Cette conversation n'existe plus. On recommence depuis le début.",
        Text::NotExpected => "Ce choix n'est plus proposé. Choisis parmi les options affichées.",
        Text::Unauthorized => "Connexion refusée : identifie-toi d'abord.",
        Text::ServerBusy => "Le service est très occupé en ce moment. Réessaie dans quelques minutes. En cas d'urgence, appelle le 911.",
        Text::Internal => "Un problème est survenu de notre côté. Réessaie dans un moment.",
        Text::NotUnderstood => "Je n'ai pas bien compris. Tu peux choisir une option, ou parler à une personne.",
        Text::ChooseBelow => "Choisis une option :",
        Text::ResourcesBelow => "Voici de l'aide que tu peux joindre :",
        Text::TalkToSomeone => "Parler à une personne",
        Text::StartAgain => "Recommencer",
        Text::HandoffTimeout => "Personne n'est encore disponible, désolé pour l'attente. Tu gardes ta place. Tu peux aussi joindre ces ressources tout de suite :",
        Text::HandoffUnavailable => "Aucune personne n'est disponible en ce moment. Ta demande reste dans la file. Tu peux joindre ces ressources tout de suite :",
        Text::HandoffEnded => "La conversation avec l'intervenant·e est terminée. Tu peux toujours revenir ou joindre ces ressources :",
        Text::HolderAway => "La personne qui te parlait a perdu la connexion. Ta conversation est gardée : ce que tu écris ici sera lu dès qu'elle revient.",
        Text::HolderBack => "La personne est de retour. Tu peux continuer à écrire.",
        Text::HolderGone => "La personne n'a pas pu revenir. Ta demande est de nouveau dans la file, en premier : la prochaine personne lira votre conversation. En attendant, tu peux joindre tout de suite une de ces ressources :",
        Text::Released => "La personne qui te parlait a dû passer le relais. Tu gardes ta place dans la file : la prochaine personne lira votre conversation.",
        Text::NotUnderstoodWaiting => "Je n'ai pas bien compris. Ta demande pour parler à une personne est toujours dans la file. En attendant, tu peux choisir une option.",
        Text::YouthLeft => "La personne a quitté la conversation.",
        Text::Forbidden => "Tu n'as pas le droit de faire cette action.",
        Text::NotFound => "Cette ressource n'existe pas.",
        Text::Conflict => "Quelqu'un d'autre s'en occupe déjà.",
        Text::LoginFailed => "Identifiant ou mot de passe incorrect.",
    }
}

fn english(text: Text) -> &'static str {
    match text {
        Text::BadRequest => "This message could not be read.",
        Text::BadJson => "This message could not be read: it is not valid JSON.",
        Text::UnknownType => "This type of message does not exist.",
        Text::MissingField => "Some information is missing from this message.",
        Text::BinaryFrame => "Only text messages are accepted.",
        Text::HelloFirst => "The conversation starts with a \"hello\" message.",
        Text::AlreadyStarted => "The conversation has already started.",
        Text::TooLarge => "This message is too long.",
        Text::TextTooLong => "Your message is too long. Try fewer words, or several messages.",
        Text::RateLimited => "You are sending messages very fast. Wait a moment, then try again.",
        Text::UnknownSession => "This conversation no longer exists. Let's start from the beginning.",
        Text::NotExpected => "This choice is no longer offered. Pick one of the options shown.",
        Text::Unauthorized => "Connection refused: sign in first.",
        Text::ServerBusy => "The service is very busy right now. Try again in a few minutes. In an emergency, call 911.",
        Text::Internal => "Something went wrong on our side. Try again in a moment.",
        Text::NotUnderstood => "I didn't quite understand. You can pick an option, or talk to a person.",
        Text::ChooseBelow => "Pick an option:",
        Text::ResourcesBelow => "Here is help you can reach:",
        Text::TalkToSomeone => "Talk to a person",
        Text::StartAgain => "Start again",
        Text::HandoffTimeout => "Nobody is available yet, sorry for the wait. You keep your place. You can also reach these resources right now:",
        Text::HandoffUnavailable => "Nobody is available right now. Your request stays in the queue. You can reach these resources right now:",
        Text::HandoffEnded => "The conversation with the intervenor has ended. You can always come back or reach these resources:",
        Text::HolderAway => "The person talking with you lost their connection. Your conversation is kept: what you write here will be read as soon as they are back.",
        Text::HolderBack => "The person is back. You can keep writing.",
        Text::HolderGone => "The person could not come back. Your request is back in line, first: the next person will read your conversation. Meanwhile, you can reach one of these right now:",
        Text::Released => "The person talking with you had to hand over. You keep your place in line: the next person will read your conversation.",
        Text::NotUnderstoodWaiting => "I didn't quite understand. Your request to talk to a person is still in line. Meanwhile, you can pick an option.",
        Text::YouthLeft => "The young person left the conversation.",
        Text::Forbidden => "You are not allowed to do this.",
        Text::NotFound => "This resource does not exist.",
        Text::Conflict => "Someone else is already handling it.",
        Text::LoginFailed => "Wrong username or password.",
    }
}
