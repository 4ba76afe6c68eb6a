// Chat page: sends each message to Guichet's chat door and shows the answers.
"use strict";

const conversation = document.getElementById("conversation");
const form = document.getElementById("chat-form");
const input = document.getElementById("message");
const statusLine = document.getElementById("status");

function addMessage(who, text, buttons) {
  const item = document.createElement("li");
  item.className = who === "Vous" ? "user" : "bot";
  const label = document.createElement("span");
  label.className = "who";
  label.textContent = who + " :";
  item.append(label, document.createTextNode(text || ""));
  for (const button of buttons || []) {
    const choice = document.createElement("button");
    choice.type = "button";
    choice.className = "choice";
    choice.textContent = button.title;
    choice.addEventListener("click", () => send(button.payload, button.title));
    item.append(document.createElement("br"), choice);
  }
  conversation.append(item);
  item.scrollIntoView({ block: "nearest" });
}

// Messages leave one after the other, each once the previous answer is in: typed quickly,
// they still reach the assistant in the order they were written.
let sending = Promise.resolve();
// Bumped by "recommencer": an answer to a message of the previous visitor is never shown.
let visit = 0;
function send(message, shown) {
  addMessage("Vous", shown || message);
  const thisVisit = visit;
  sending = sending.then(() => deliver(message, thisVisit));
}

// The server keeps the conversation in a cookie of its own: the page never handles an id.
async function deliver(message, thisVisit) {
  statusLine.textContent = "Guichet écrit…";
  try {
    const response = await fetch("chat/messages", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message }),
    });
    if (response.status === 413) {
      statusLine.textContent = "Votre message est trop long. Écrivez l'essentiel en quelques phrases.";
    } else {
      // The assistant's answers, or the door's own (too fast, unavailable), in the same shape.
      const answers = await response.json();
      if (!Array.isArray(answers)) throw new Error(response.status);
      if (thisVisit !== visit) return;
      for (const answer of answers) {
        addMessage("Guichet", answer.text, answer.buttons);
      }
      statusLine.textContent = "";
    }
  } catch (error) {
    statusLine.textContent = "Le service ne répond pas. Réessayez dans un instant.";
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
  conversation.replaceChildren();
  // After any message still being answered, so that its answer cannot revive the conversation.
  sending = sending.then(async () => {
    try {
      await fetch("chat/new", { method: "POST", credentials: "same-origin" });
      statusLine.textContent = "Nouvelle conversation.";
    } catch (error) {
      statusLine.textContent = "Le service ne répond pas. Réessayez dans un instant.";
    }
    input.focus();
  });
});
