// Chat page: sends each message to the Rasa REST channel and shows the answers.
"use strict";

const conversation = document.getElementById("conversation");
const form = document.getElementById("chat-form");
const input = document.getElementById("message");
const statusLine = document.getElementById("status");

function senderId() {
  let id = sessionStorage.getItem("guichet-sender");
  if (!id) {
    id = crypto.randomUUID();
    sessionStorage.setItem("guichet-sender", id);
  }
  return id;
}

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

let webhookUrl = null;
async function webhook() {
  if (!webhookUrl) {
    const response = await fetch("chat-config.json");
    webhookUrl = (await response.json()).webhook_url;
  }
  return webhookUrl;
}

async function send(message, shown) {
  addMessage("Vous", shown || message);
  statusLine.textContent = "Guichet écrit…";
  try {
    const response = await fetch(await webhook(), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: senderId(), message }),
    });
    if (!response.ok) throw new Error(response.status);
    for (const answer of await response.json()) {
      addMessage("Guichet", answer.text, answer.buttons);
    }
    statusLine.textContent = "";
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
