// Chat page: shows the welcome, sends each message to Guichet's chat door and shows the answers.
// Every word a person reads comes from the domain (through the door) or from index.html.
"use strict";

const conversation = document.getElementById("conversation");
const form = document.getElementById("chat-form");
const input = document.getElementById("message");
const statusLine = document.getElementById("status");
const says = statusLine.dataset;
const names = conversation.dataset;

// A message at the end of the conversation, or before `before` (the welcome, if it arrives
// after a first message was already written).
function addMessage(who, text, buttons, before) {
  const item = document.createElement("li");
  item.className = who === names.you ? "user" : "bot";
  const label = document.createElement("span");
  label.className = "who";
  label.textContent = who + " :";
  item.append(label, document.createTextNode(text || ""));
  if (buttons && buttons.length) {
    const choices = document.createElement("div");
    choices.className = "choices";
    for (const button of buttons) {
      const choice = document.createElement("button");
      choice.type = "button";
      choice.className = "choice";
      choice.textContent = button.title;
      choice.addEventListener("click", () => send(button.payload, button.title));
      choices.append(choice);
    }
    item.append(choices);
  }
  // After the choices: the keyboard meets a message's choices first, then "Écouter".
  if (who === names.assistant && text) item.append(listenButton(text));
  conversation.insertBefore(item, before || null);
  item.scrollIntoView({ block: "nearest" });
}

// "Écouter": the server's French voice reads the answer (POST chat/tts, the door holds the
// gateway's token). Only on a press, never on its own; a second press stops it.
let playing = null;
function stopPlaying() {
  if (!playing) return;
  playing.audio.pause();
  URL.revokeObjectURL(playing.audio.src);
  playing.button.textContent = names.listen;
  playing.button.setAttribute("aria-label", names.listenLabel);
  playing.button.setAttribute("aria-pressed", "false");
  playing = null;
}

async function readAloud(button, text) {
  const request = () =>
    fetch("chat/tts", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text, slow: false }),
    });
  let response = await request();
  if (response.status === 403) {
    // No conversation yet (the welcome): the server hands one out, nothing is erased.
    await fetch("chat/new", { method: "POST", credentials: "same-origin" });
    response = await request();
  }
  if (response.status === 503) {
    button.disabled = true;
    button.title = names.listenUnavailable;
    statusLine.textContent = names.listenUnavailable;
    return;
  }
  if (!response.ok) throw new Error(response.status);
  const audio = new Audio(URL.createObjectURL(await response.blob()));
  stopPlaying();
  playing = { audio, button };
  button.textContent = names.stop;
  button.setAttribute("aria-label", names.stopLabel);
  button.setAttribute("aria-pressed", "true");
  audio.addEventListener("ended", () => {
    if (playing && playing.audio === audio) stopPlaying();
  });
  try {
    await audio.play();
  } catch (error) {
    // Stopped by a second press before it started: not a failure.
    if (playing && playing.audio === audio) throw error;
  }
}

function listenButton(text) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "listen";
  button.textContent = names.listen;
  button.setAttribute("aria-label", names.listenLabel);
  button.setAttribute("aria-pressed", "false");
  button.addEventListener("click", async () => {
    if (playing && playing.button === button) {
      stopPlaying();
      return;
    }
    try {
      await readAloud(button, text);
    } catch (error) {
      stopPlaying();
      statusLine.textContent = names.listenFailed;
    }
  });
  return button;
}

// Messages leave one after the other, each once the previous answer is in: typed quickly,
// they still reach the assistant in the order they were written.
let sending = Promise.resolve();
// Bumped by "recommencer": an answer to a message of the previous visitor is never shown.
let visit = 0;
function send(message, shown) {
  addMessage(names.you, shown || message);
  const thisVisit = visit;
  sending = sending.then(() => deliver(message, thisVisit));
}

function showAnswers(answers, before) {
  for (const answer of answers) {
    addMessage(names.assistant, answer.text, answer.buttons, before);
  }
}

// The greeting, the three choices and the phone number, before anything is written. Reading
// it starts no conversation; the door serves it even when the assistant does not answer.
async function welcome(thisVisit) {
  try {
    const response = await fetch("chat/welcome", { credentials: "same-origin" });
    const messages = await response.json();
    if (!Array.isArray(messages)) throw new Error(response.status);
    if (thisVisit === visit) showAnswers(messages, conversation.firstChild);
  } catch (error) {
    statusLine.textContent = says.unavailable;
  }
}

// The server keeps the conversation in a cookie of its own: the page never handles an id.
async function deliver(message, thisVisit) {
  statusLine.textContent = says.writing;
  try {
    const response = await fetch("chat/messages", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message }),
    });
    if (response.status === 413) {
      statusLine.textContent = says.tooLong;
    } else {
      // The assistant's answers, or the door's own (too fast, unavailable), in the same shape.
      const answers = await response.json();
      if (!Array.isArray(answers)) throw new Error(response.status);
      if (thisVisit !== visit) return;
      showAnswers(answers);
      statusLine.textContent = "";
    }
  } catch (error) {
    statusLine.textContent = says.unavailable;
  }
  input.focus();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const message = input.value.trim();
  if (!message) return;
  input.value = "";
  send(message);
});

// A new visitor (kiosk) or a fresh start: the server hands out a new conversation.
document.getElementById("new-conversation").addEventListener("click", () => {
  visit += 1;
  const thisVisit = visit;
  conversation.replaceChildren();
  // After any message still being answered, so that its answer cannot revive the conversation.
  sending = sending.then(async () => {
    try {
      await fetch("chat/new", { method: "POST", credentials: "same-origin" });
      statusLine.textContent = says.newConversation;
    } catch (error) {
      statusLine.textContent = says.unavailable;
    }
    await welcome(thisVisit);
    input.focus();
  });
});

sending = welcome(visit);
