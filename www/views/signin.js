import { api, session } from "../api.js";
import { html, mount, errorBlock } from "../ui.js";
import { setMe } from "../app.js";

export async function render(main) {
  mount(
    main,
    html`<section class="narrow">
      <h1>Sign in</h1>
      <p>Use a token from <code>vexil init</code> or <code>vexil token create</code>. It is kept in this tab's session storage only.</p>
      <form id="signin">
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required placeholder="vxt_…">
        <button class="primary" type="submit">Sign in</button>
        <div id="result"></div>
      </form>
    </section>`,
  );
  main.querySelector("#signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = main.querySelector("#token").value.trim();
    session.set(token);
    try {
      const me = await api("GET", "/whoami");
      if (me.kind !== "token") throw Object.assign(new Error("SDK keys read snapshots; sign in with a token."), { details: [] });
      setMe(me);
      location.hash = "#/flags";
    } catch (e) {
      session.clear();
      mount(main.querySelector("#result"), errorBlock(e.status === 401 ? { message: "That token is unknown or revoked.", details: [] } : e));
    }
  });
}
