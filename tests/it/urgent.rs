//! Urgent messages over real sockets, with the shipped flows (issue 14): an urgent
//! phrase typed mid-menu, mid-report and while waiting for a person; a "maybe
//! danger" phrase answered yes and answered no; the off-ramp ("I'm not in danger
//! right now") lowering an urgent request in the console's queue.

use crate::common;
use common::{repo_path, test_config, Api, Console, TestServer, Youth};
use relais::store::records::Role;
use serde_json::Value;

const PASSWORD: &str = "un mot de passe assez long";

async fn server() -> (TestServer, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(test_config(data.path(), &repo_path("flows")), |state| {
        state
            .accounts
            .add("sam", "Sam", Role::Intervenor, PASSWORD)
            .unwrap();
    })
    .await;
    (server, data)
}

/// Sam signed in with a console socket, on call.
async fn on_call(server: &TestServer) -> (Api, Console) {
    let api = Api::login(&server.http_url(""), "sam", PASSWORD).await;
    let mut console = Console::connect(&server.ws_url("/console"), &api.token).await;
    api.on_call(true).await;
    console.until("roster").await;
    (api, console)
}

async fn at_menu(server: &TestServer, lang: &str) -> Youth {
    let mut youth = server.youth().await;
    youth.hello(lang).await;
    youth.until_waiting().await;
    youth
}

fn said(frames: &[Value]) -> String {
    frames
        .iter()
        .map(|f| f["text"].as_str().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn keys(resources: &Value) -> Vec<String> {
    resources
        .as_array()
        .map(|list| {
            list.iter()
                .map(|r| r["key"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn shown(frames: &[Value]) -> Vec<String> {
    frames.iter().flat_map(|f| keys(&f["resources"])).collect()
}

#[tokio::test]
async fn an_urgent_phrase_mid_menu_takes_the_suicide_path_with_its_line_first() {
    let (server, _data) = server().await;
    let mut youth = at_menu(&server, "fr").await;
    youth.choose("menu_situation").await;
    youth.until_waiting().await;
    youth.text("jveux pu vivre").await;
    let (handoff, before) = youth.until("handoff").await;
    assert_eq!(handoff["urgent"], true, "{handoff}");
    assert_eq!(handoff["status"], "unavailable", "nobody is on call");
    let offered = keys(&handoff["resources"]);
    assert_eq!(
        offered.first().map(String::as_str),
        Some("prevention_suicide")
    );
    assert!(offered.contains(&"urgence".to_string()), "{offered:?}");
    assert_eq!(
        shown(&before).first().map(String::as_str),
        Some("prevention_suicide")
    );
    let text = said(&before);
    assert!(text.contains("911"), "{text}");
    assert!(text.contains("pris quelque chose"), "{text}");

    // Danger from someone else: 911 first.
    let mut other = at_menu(&server, "en").await;
    other.text("please hes waiting outside my school").await;
    let (handoff, before) = other.until("handoff").await;
    assert_eq!(handoff["urgent"], true);
    assert_eq!(
        keys(&handoff["resources"]).first().map(String::as_str),
        Some("urgence")
    );
    assert_eq!(shown(&before).first().map(String::as_str), Some("urgence"));
    server.stop().await;
}

#[tokio::test]
async fn an_urgent_phrase_mid_report_keeps_the_text_and_returns_to_the_report() {
    let (server, _data) = server().await;
    let mut youth = at_menu(&server, "fr").await;
    youth.choose("menu_signaler").await;
    youth.until_waiting().await;
    youth.choose("sig_danger_non").await;
    youth.until_waiting().await;
    youth.choose("sig_type_leurre").await;
    let asked = youth.until_waiting().await;
    assert_eq!(asked.last().unwrap()["input"], "text", "{asked:?}");
    let typed = "sur snap, pis là yé dehors devant chez nous";
    youth.text(typed).await;
    let (handoff, _) = youth.until("handoff").await;
    assert_eq!(handoff["urgent"], true);
    let menu = youth.until_waiting().await.pop().unwrap();
    let continue_id = menu["choices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"] == "Reprendre mon signalement où j'étais")
        .map(|c| c["id"].as_str().unwrap().to_string())
        .expect("a way back into the report");
    youth.choose(&continue_id).await;
    let next = youth.until_waiting().await;
    assert!(said(&next).contains("Qui est impliqué"), "{next:?}");
    // Skip to the summary: what the youth typed is there.
    for skip in ["sig_qui_passer", "sig_quand_passer"] {
        youth.choose(skip).await;
        youth.until_waiting().await;
    }
    youth.choose("sig_autre_passer").await;
    let (summary, _) = youth.until("report_summary").await;
    let fields = summary["fields"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .any(|f| f["field"] == "ou" && f["value"] == typed),
        "{summary}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_urgent_phrase_while_waiting_makes_the_request_urgent() {
    let (server, _data) = server().await;
    let (_api, mut console) = on_call(&server).await;
    let mut youth = at_menu(&server, "fr").await;
    youth.choose("menu_parler").await;
    let (waiting, _) = youth.until("handoff").await;
    assert_eq!(waiting["status"], "waiting", "{waiting}");
    assert_eq!(waiting["urgent"], false);
    console
        .queue_where(|items| items.len() == 1 && items[0]["urgent"] == false)
        .await;
    youth.text("y'é dehors").await;
    let (handoff, _) = youth.until("handoff").await;
    assert_eq!(handoff["urgent"], true, "{handoff}");
    let items = console
        .queue_where(|items| items.iter().any(|i| i["urgent"] == true))
        .await;
    assert_eq!(items.len(), 1, "the same request, now urgent: {items:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_maybe_danger_phrase_answered_yes_is_urgent() {
    let (server, _data) = server().await;
    let mut youth = at_menu(&server, "fr").await;
    youth.text("il sait ou jreste").await;
    let asked = youth.until_waiting().await;
    let question = asked.last().unwrap();
    assert!(
        said(&asked).contains("Es-tu en danger maintenant?"),
        "{asked:?}"
    );
    assert!(
        asked.iter().all(|f| f["type"] != "handoff"),
        "nothing urgent yet"
    );
    let ids: Vec<_> = question["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"ver_oui") && ids.contains(&"ver_non"),
        "{ids:?}"
    );
    youth.choose("ver_oui").await;
    let (handoff, before) = youth.until("handoff").await;
    assert_eq!(handoff["urgent"], true);
    assert!(said(&before).contains("911"));
    server.stop().await;
}

#[tokio::test]
async fn a_maybe_danger_phrase_answered_no_goes_back_with_the_theme() {
    let (server, _data) = server().await;
    let mut youth = at_menu(&server, "en").await;
    youth.choose("menu_situation").await;
    youth.until_waiting().await;
    youth.choose("sit_sextorsion").await;
    let theme = youth.until_waiting().await;
    let theme_question = theme.last().unwrap()["text"].clone();
    youth.text("he knows where i live").await;
    let asked = youth.until_waiting().await;
    assert!(
        said(&asked).contains("Are you in danger right now?"),
        "{asked:?}"
    );
    youth.choose("ver_non").await;
    let back = youth.until_waiting().await;
    assert!(back.iter().all(|f| f["type"] != "handoff"), "{back:?}");
    assert_eq!(
        back.last().unwrap()["text"],
        theme_question,
        "back in the theme"
    );
    // The theme is kept: a person now hears it is about sextortion.
    youth.choose("sext_parler").await;
    let (_, before) = youth.until("handoff").await;
    assert!(
        said(&before).contains("don't pay") || said(&before).contains("do not pay"),
        "{before:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_off_ramp_lowers_the_request_in_the_consoles_queue() {
    let (server, _data) = server().await;
    let (api, mut console) = on_call(&server).await;
    let mut youth = at_menu(&server, "fr").await;
    youth.text("aideeeez chu en danger").await;
    let (handoff, _) = youth.until("handoff").await;
    assert_eq!(handoff["urgent"], true);
    let items = console
        .queue_where(|items| items.len() == 1 && items[0]["urgent"] == true)
        .await;
    let id = items[0]["id"].as_u64().unwrap();
    youth.until_waiting().await;
    youth.choose("urg_pas_danger").await;
    let items = console
        .queue_where(|items| items.iter().any(|i| i["id"] == id && i["urgent"] == false))
        .await;
    assert_eq!(items.len(), 1, "still one request, now normal: {items:?}");
    let (lowered, _) = youth.until("handoff").await;
    assert_eq!(lowered["urgent"], false, "{lowered}");
    let back = youth.until_waiting().await;
    assert!(
        said(&back).contains("plus marquée urgente")
            || said(&back).contains("sans la marque urgente"),
        "{back:?}"
    );
    let queue = api.queue().await;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["urgent"], false, "{queue:?}");
    server.stop().await;
}
