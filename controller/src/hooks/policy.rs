//! When a post hook runs (Stash's `IsAllowedByExecutionPolicy`), judged against the summary's
//! phase and the retries left: a pure function, so the reconciler can skip a hook without
//! starting a job and the step can make the same call when run by hand.
use stash::api::hooks::HookExecutionPolicy;

use super::HookType;

/// Run the hook, or skip it with the message its condition carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Run,
    Skip(String),
}

/// `OnSuccess` needs phase `Succeeded`; `OnFailure` needs `Failed`; `OnFinalRetryFailure`
/// needs `Failed` with no retry left; `Always` always runs.
pub fn decide(
    hook: HookType,
    policy: HookExecutionPolicy,
    phase: &str,
    retry_left: i32,
) -> Decision {
    let allowed = match policy {
        HookExecutionPolicy::Always => true,
        HookExecutionPolicy::OnSuccess => phase == "Succeeded",
        HookExecutionPolicy::OnFailure => phase == "Failed",
        HookExecutionPolicy::OnFinalRetryFailure => phase == "Failed" && retry_left == 0,
    };
    if allowed {
        Decision::Run
    } else {
        Decision::Skip(format!(
            "Skipping executing {}. Reason: executionPolicy is {:?} but phase is {:?}.",
            hook.as_str(),
            policy.as_str(),
            phase
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HookExecutionPolicy::*;

    #[test]
    fn policy_table() {
        let skip = |p: &str, ph: &str| {
            Decision::Skip(format!(
                "Skipping executing postBackup. Reason: executionPolicy is \"{p}\" but phase is \"{ph}\"."
            ))
        };
        let cases = [
            (Always, "Succeeded", 0, Decision::Run),
            (Always, "Failed", 3, Decision::Run),
            (OnSuccess, "Succeeded", 1, Decision::Run),
            (OnSuccess, "Failed", 0, skip("OnSuccess", "Failed")),
            (OnFailure, "Failed", 2, Decision::Run),
            (OnFailure, "Succeeded", 0, skip("OnFailure", "Succeeded")),
            (OnFinalRetryFailure, "Failed", 0, Decision::Run),
            (
                OnFinalRetryFailure,
                "Failed",
                1,
                skip("OnFinalRetryFailure", "Failed"),
            ),
            (
                OnFinalRetryFailure,
                "Succeeded",
                0,
                skip("OnFinalRetryFailure", "Succeeded"),
            ),
        ];
        for (policy, phase, left, want) in cases {
            assert_eq!(
                decide(HookType::PostBackup, policy, phase, left),
                want,
                "{policy:?} {phase} {left}"
            );
        }
    }

    #[test]
    fn the_message_names_the_hook() {
        assert_eq!(
            decide(HookType::PostRestore, OnSuccess, "Failed", 0),
            Decision::Skip(
                "Skipping executing postRestore. Reason: executionPolicy is \"OnSuccess\" but phase is \"Failed\"."
                    .into()
            )
        );
    }
}
