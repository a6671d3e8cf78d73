// The page: draw or drop an image, send it to /api/explain, show the classes, Grad-CAM and activations.
"use strict";

const canvas = document.getElementById("canvas");
const context = canvas.getContext("2d");
const statusLine = document.getElementById("status");
const SEND_EVERY_MS = 250;  // while drawing, at most one request per this many milliseconds

let drawing = false;
let last = null;
let inFlight = false;
let pending = null;  // the latest image waiting while a request is in flight
let lastSent = 0;

function clearCanvas() {
  context.fillStyle = "#000";
  context.fillRect(0, 0, canvas.width, canvas.height);
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return { x: (event.clientX - box.left) * canvas.width / box.width,
           y: (event.clientY - box.top) * canvas.height / box.height };
}

function stroke(from, to) {
  context.strokeStyle = "#fff";
  context.lineWidth = 20;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.beginPath();
  context.moveTo(from.x, from.y);
  context.lineTo(to.x, to.y);
  context.stroke();
}

canvas.addEventListener("pointerdown", (event) => {
  drawing = true;
  last = point(event);
  stroke(last, last);
  canvas.setPointerCapture(event.pointerId);
});
canvas.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const here = point(event);
  stroke(last, here);
  last = here;
  if (Date.now() - lastSent > SEND_EVERY_MS) sendCanvas();
});
for (const name of ["pointerup", "pointercancel"]) {
  canvas.addEventListener(name, () => {
    if (!drawing) return;
    drawing = false;
    sendCanvas();
  });
}

document.getElementById("clear").addEventListener("click", () => {
  clearCanvas();
  document.getElementById("prediction").textContent = "";
  document.getElementById("bars").replaceChildren();
  setStatus("Draw on the canvas.");
});

function sendCanvas() {
  lastSent = Date.now();
  canvas.toBlob((blob) => send(blob, "canvas.png"), "image/png");
}

const drop = document.getElementById("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer.files.length) sendFile(event.dataTransfer.files[0]);
});
document.getElementById("file").addEventListener("change", (event) => {
  if (event.target.files.length) sendFile(event.target.files[0]);
});

function sendFile(file) {
  const preview = document.getElementById("dropped");
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  send(file, file.name);
}

async function send(blob, name) {
  if (inFlight) { pending = [blob, name]; return; }
  inFlight = true;
  const form = new FormData();
  form.append("file", blob, name);
  try {
    const response = await fetch("api/explain", { method: "POST", body: form });
    const answer = await response.json();
    if (response.ok) show(answer);
    else setStatus(answer.detail || `error ${response.status}`, true);
  } catch (error) {
    setStatus(`the server did not answer (${error.message})`, true);
  } finally {
    inFlight = false;
    if (pending) { const [nextBlob, nextName] = pending; pending = null; send(nextBlob, nextName); }
  }
}

function show(answer) {
  document.getElementById("prediction").textContent = label(answer["class"]);
  const bars = document.getElementById("bars");
  bars.replaceChildren(...answer.top3.map(([index, probability]) => {
    const item = document.createElement("li");
    item.className = "top";
    item.innerHTML = '<span class="label"></span><span class="bar"></span><span class="value"></span>';
    item.querySelector(".label").textContent = label(index);
    item.querySelector(".bar").style.width = `${Math.max(1, probability * 200)}px`;
    item.querySelector(".value").textContent = probability.toFixed(3);
    return item;
  }));
  document.getElementById("gradcam").src = answer.grad_cam;
  document.getElementById("activations").src = answer.activations.png;
  document.getElementById("layer").textContent = `(${answer.activations.layer})`;
  setStatus(`${answer.image}: class ${label(answer["class"])}`);
}

let classNames = null;
function label(index) { return classNames ? classNames[index] : String(index); }

function setStatus(text, error = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", error);
}

fetch("api/model").then((response) => response.json()).then((model) => {
  classNames = model.class_names;
  document.getElementById("model").textContent =
    `${model.name}: input ${JSON.stringify(model.input_shape)}, ${model.parameters.toLocaleString()} parameters`;
});

clearCanvas();
