//! Classroom commands: its status, turning it on (with the teacher's options) and off. Each change
//! is also pushed to every window as [`ClassroomChanged`]; the students connected are the broker's
//! clients, pushed as `ClientsChanged`. Bodies are calls into [`workbench_classroom`].

use super::IpcError;
use serde::Serialize;
use std::sync::Arc;
use tauri_specta::Event;
use workbench_classroom::{Classroom, ClassroomOptions, ClassroomStatus};

type State<'a> = tauri::State<'a, Arc<Classroom>>;

/// The classroom turned on or off, or changed its options.
#[derive(Debug, Clone, Serialize, specta::Type, Event)]
pub struct ClassroomChanged(pub ClassroomStatus);

fn tell(handle: &tauri::AppHandle, status: &ClassroomStatus) {
    let _ = ClassroomChanged(status.clone()).emit(handle);
}

/// Whether the classroom is on, its addresses and ports.
#[tauri::command]
#[specta::specta]
pub async fn classroom_status(classroom: State<'_>) -> Result<ClassroomStatus, IpcError> {
    Ok(classroom.status().await)
}

/// Turns the classroom on (or changes its options): the broker opens to the network and the
/// student page is served.
#[tauri::command]
#[specta::specta]
pub async fn classroom_on(
    handle: tauri::AppHandle,
    classroom: State<'_>,
    options: ClassroomOptions,
) -> Result<ClassroomStatus, IpcError> {
    let result = classroom.turn_on(options).await;
    let status = classroom.status().await;
    tell(&handle, &status);
    Ok(result?)
}

/// Turns the classroom off: the page stops, the broker listens as before.
#[tauri::command]
#[specta::specta]
pub async fn classroom_off(
    handle: tauri::AppHandle,
    classroom: State<'_>,
) -> Result<ClassroomStatus, IpcError> {
    let status = classroom.turn_off().await;
    tell(&handle, &status);
    Ok(status)
}
