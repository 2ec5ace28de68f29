// The "I use headphones" choice on the page: kept for the next visit, with its note on
// echo; a change opens the microphone again with or without echo cancellation (as
// another microphone would). A reconnect keeps the stream, so the choice stays.

import { echoNote, keepHeadphones } from "./return_feed.js";

// ui: {headphones, echoNote}; state.headphones holds the choice; kept: localStorage or
// null; reopen(): opens the microphone again (called only while it is open).
export function wireHeadphones(ui, state, kept, reopen) {
  const show = () => {
    ui.headphones.checked = state.headphones;
    ui.echoNote.textContent = echoNote(state.headphones);
  };
  ui.headphones.addEventListener("change", () => {
    state.headphones = ui.headphones.checked;
    keepHeadphones(kept, state.headphones);
    show();
    reopen();
  });
  show();
}
