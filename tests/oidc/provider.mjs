// A real OpenID Provider (panva/oidc-provider, OpenID Certified) on loopback for the school sign-in tests.
// Configured from the environment by tests/schools/oidc_provider.py:
//   PORT, OIDC_CLIENTS (JSON list of {client_id, client_secret, redirect_uris}),
//   OIDC_ACCOUNTS (JSON map login -> claims: email, email_verified, hd, tid; the login is the subject), ID_TOKEN_TTL (seconds).
// Logins go through the provider's own development interactions (a login form, then a consent form).
import Provider from "oidc-provider";

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || "{}");
const clients = JSON.parse(process.env.OIDC_CLIENTS || "[]").map((client) => ({
  grant_types: ["authorization_code"],
  response_types: ["code"],
  token_endpoint_auth_method: "client_secret_basic",
  ...client,
}));

const provider = new Provider(issuer, {
  clients,
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "hd", "tid"] },
  conformIdTokenClaims: false, // the ID token carries the scopes' claims (as Google's and Microsoft's do)
  cookies: { keys: ["test-only-cookie-key"] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  ttl: { IdToken: Number(process.env.ID_TOKEN_TTL || 3600) },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { ...claims, sub: id }; } };
  },
});
provider.proxy = false;
provider.on("server_error", (ctx, error) => console.error("server_error", error));
provider.listen(port, "127.0.0.1", () => console.log(`ready ${issuer}`));
