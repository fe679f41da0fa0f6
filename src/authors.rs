//! The authors' API behind the preview page (`/auteurs`): the flow graph (the same
//! data as `relais flows graph`), a stateless player that runs any flow from any
//! node in any language with the variables shown, and the version history. For
//! accounts with the author or supervisor role; nothing here touches a youth's data.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::flow::engine::{Output, State as FlowState};
use crate::flow::graph::Graph;
use crate::flow::play::{self, Typed};
use crate::handoff::api::{ApiJson, Authed};
use crate::protocol::ResourceWire;
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/flows/graph", get(graph))
        .route("/api/flows/play", post(play))
        .route("/api/flows/versions", get(versions))
        .route("/api/flows/status", get(status))
}

fn author(who: &crate::handoff::accounts::Intervenor) -> Result<(), ApiError> {
    if who.writes_flows() {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

async fn graph(State(app): State<AppState>, Authed(who): Authed) -> Result<Response, ApiError> {
    author(&who)?;
    let flows = app.flows.current();
    Ok(Json(serde_json::json!({
        "version": flows.version,
        "languages": flows.languages(),
        "graph": Graph::of(&flows),
        "last_edit": app.flows.last_edit(),
    }))
    .into_response())
}

/// The version serving and what happened to the last edit of the folder, for the
/// page to poll: a refused edit shows its diagnostics, an accepted one says so.
async fn status(State(app): State<AppState>, Authed(who): Authed) -> Result<Response, ApiError> {
    author(&who)?;
    Ok(Json(serde_json::json!({
        "version": app.flows.current().version,
        "last_edit": app.flows.last_edit(),
    }))
    .into_response())
}

/// Where a preview conversation stands; the page sends it back with each input.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PlayState {
    pub node: Option<String>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlayInput {
    Choose { id: String },
    Text { text: String },
    Restart,
}

#[derive(Debug, Deserialize)]
pub struct PlayRequest {
    #[serde(default = "french")]
    pub lang: String,
    /// Start here (a fresh conversation) when there is no state.
    pub from: Option<String>,
    pub state: Option<PlayState>,
    pub input: Option<PlayInput>,
}

fn french() -> String {
    "fr".into()
}

/// A frame of a preview: a bot message exactly as the chat sends it (without
/// `seq`), or what would happen instead of a real handoff or report.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum PlayFrame {
    Chat(crate::protocol::Event),
    Preview(PreviewFrame),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PreviewFrame {
    Handoff {
        urgent: bool,
        topic: String,
        resources: Vec<ResourceWire>,
    },
    End,
    /// A report step (kept, summary, submitted, receipt checked), as the transcript says.
    Report,
}

#[derive(Debug, Serialize)]
pub struct PlayResponse {
    pub frames: Vec<PlayFrame>,
    pub state: PlayState,
    /// What happened, as `relais flows try` writes it.
    pub transcript: String,
    pub not_expected: bool,
}

async fn play(
    State(app): State<AppState>,
    Authed(who): Authed,
    ApiJson(request): ApiJson<PlayRequest>,
) -> Result<Json<PlayResponse>, ApiError> {
    author(&who)?;
    let flows = app.flows.current();
    let lang = if flows.has_language(&request.lang) {
        request.lang
    } else {
        "fr".into()
    };
    let ui = if lang == "fr" { "fr" } else { "en" };
    let mut state = FlowState {
        lang: lang.clone(),
        ..Default::default()
    };
    let (step, transcript) = match (request.state, request.input) {
        (Some(saved), Some(input)) => {
            state.node = saved.node;
            state.vars = saved.vars;
            let typed = match input {
                PlayInput::Choose { id } => Typed::Choice(id),
                PlayInput::Text { text } => Typed::Input(text),
                PlayInput::Restart => Typed::Restart,
            };
            play::play(&flows, &mut state, &typed, ui)
        }
        _ => {
            if let Some(node) = &request.from {
                if !flows.nodes.contains_key(node) {
                    return Err(ApiError::NotFound);
                }
            }
            play::start(&flows, &mut state, request.from.as_deref(), ui)
        }
    };
    let frames = step
        .outputs
        .iter()
        .map(|output| match output {
            Output::Bot(bot) => PlayFrame::Chat(crate::protocol::Event::from(bot)),
            Output::Handoff(request) => PlayFrame::Preview(PreviewFrame::Handoff {
                urgent: request.urgent,
                topic: request.topic.clone(),
                resources: request.resources.iter().map(ResourceWire::from).collect(),
            }),
            Output::End => PlayFrame::Preview(PreviewFrame::End),
            // Reports are never stored from a preview: shown as what would happen.
            _ => PlayFrame::Preview(PreviewFrame::Report),
        })
        .collect();
    Ok(Json(PlayResponse {
        frames,
        not_expected: step.not_expected,
        state: PlayState {
            node: state.node,
            vars: state.vars,
        },
        transcript,
    }))
}

async fn versions(State(app): State<AppState>, Authed(who): Authed) -> Result<Response, ApiError> {
    author(&who)?;
    let serving = app.flows.current().version.clone();
    let list: Vec<serde_json::Value> = crate::store::archived_flow_versions(&app.config.data_dir)?
        .into_iter()
        .map(|v| {
            serde_json::json!({
                "version": v.version,
                "loaded_at": v.loaded_at,
                "files": v.sources.keys().filter(|k| k.ends_with(".flow")).count(),
                "serving": v.version == serving,
            })
        })
        .collect();
    Ok(Json(list).into_response())
}
