import { render } from "preact";
import { App } from "./app.js";
import "./styles.css";

/** Entry point of the portal bundle: renders the app into the shell's #app element. */
const root = document.getElementById("app");
if (root) {
  root.replaceChildren();
  render(<App />, root);
}
