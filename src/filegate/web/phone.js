// "Add from phone": an upload grant (a write-only link) shown as a QR code and an address.

import { moment, problem } from "./words.js";

const byId = (id) => document.getElementById(id);
const REUSE_MARGIN_MS = 2 * 60 * 1000;
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

/** The dialog behind `opener`; `watcher` lists more often while it is open. */
export class PhoneDialog {
  constructor(api, watcher, opener, announcer) {
    this.api = api;
    this.watcher = watcher;
    this.opener = opener;
    this.announcer = announcer;
    this.issued = null;
    this.qrUrl = null;
    this.dialog = byId("phone-dialog");
    opener.hidden = false;
    opener.addEventListener("click", () => this.open());
    byId("phone-close").addEventListener("click", () => this.dialog.close());
    byId("phone-copy").addEventListener("click", () => this.copy());
    this.dialog.addEventListener("close", () => {
      this.watcher.hurry(false);
      this.opener.focus();
    });
  }

  async open() {
    this.dialog.showModal();
    if (!this.qrUrl) {
      byId("phone-wait").hidden = false;
      byId("phone-wait").textContent = "Creating a link…";
    }
    this.watcher.hurry(true);
    try {
      if (!(await this.stillUsable())) this.show(await this.api.createGrant());
      await this.showQr();
    } catch (error) {
      byId("phone-wait").textContent = problem(error);
    }
  }

  /** Whether the grant shown last time can still take files for a while. */
  async stillUsable() {
    if (!this.issued) return false;
    if (Date.parse(this.issued.grant.expires_at) - Date.now() < REUSE_MARGIN_MS) return false;
    try {
      const grant = await this.api.grant(this.issued.grant.id);
      return !grant.revoked && grant.uses_left > 0;
    } catch {
      return false;
    }
  }

  show(issued) {
    this.issued = issued;
    if (this.qrUrl) URL.revokeObjectURL(this.qrUrl);
    this.qrUrl = null;
    byId("phone-qr").hidden = true;
    const link = byId("phone-url");
    link.href = issued.url;
    link.textContent = issued.url;
    const { uses_total: uses, expires_at: expires } = issued.grant;
    let note = `The link takes up to ${uses} images, until ${moment(expires)}.`;
    if (LOOPBACK.test(new URL(issued.url).hostname)) {
      note +=
        " This address only works on this computer: for a phone on your network, start" +
        " filegate with --host 0.0.0.0 and --public-url set to this computer's address.";
    }
    byId("phone-note").textContent = note;
  }

  async showQr() {
    const image = byId("phone-qr");
    if (!this.qrUrl) {
      this.qrUrl = URL.createObjectURL(await this.api.image(this.issued.qr.svg));
      image.src = this.qrUrl;
    }
    image.hidden = false;
    byId("phone-wait").hidden = true;
  }

  async copy() {
    const address = this.issued?.url;
    if (!address) return;
    try {
      await navigator.clipboard.writeText(address);
      this.announcer.say("Address copied.");
    } catch {
      // No clipboard access here (e.g. not a secure context): select it for the person.
      getSelection().selectAllChildren(byId("phone-url"));
      this.announcer.say("The address is selected: copy it with your keyboard or menu.");
    }
  }
}
