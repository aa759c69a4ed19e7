//! The agents a supervisor can hand a message to, and the tools each calls.

use crate::scenario::AgentName;

/// What an agent is: its name and the tools it draws its calls from.
pub struct AgentSpec {
    pub name: &'static str,
    pub tools: [&'static str; 3],
}

const DATA_HELPER: AgentSpec = AgentSpec {
    name: "data_helper",
    tools: ["query_warehouse", "summarize_table", "fetch_schema"],
};
const UVS_REPORTING: AgentSpec = AgentSpec {
    name: "uvs_reporting",
    tools: ["query_uvs", "build_report", "render_chart"],
};
const TRIAGE: AgentSpec = AgentSpec {
    name: "triage",
    tools: ["search_tickets", "classify_issue", "assign_owner"],
};

/// The tools that live in the optional "formatting helpers" component. In
/// staging an import fallback left them `None` when the component was
/// missing from the build; the fixed pipeline checks every tool at startup.
pub const OPTIONAL_COMPONENT_TOOLS: [&str; 3] =
    ["summarize_table", "render_chart", "classify_issue"];

/// The supervisor's choice: the agent a message names, if it exists.
pub fn supervisor_pick(name: &str) -> Option<&'static AgentSpec> {
    [&DATA_HELPER, &UVS_REPORTING, &TRIAGE]
        .into_iter()
        .find(|a| a.name == name)
}

/// The spec of a scenario's agent name (always exists).
pub fn spec(agent: AgentName) -> &'static AgentSpec {
    supervisor_pick(agent.as_str()).expect("every AgentName has a spec")
}
