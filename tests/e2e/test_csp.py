"""The Content-Security-Policy leaves the admin's JavaScript working (Unfold's Alpine.js,
Django's autocomplete widgets, the API docs), with no violation reported by the browser."""

from playwright.sync_api import expect

from tests.factories import make_complaint

COLLECT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def watch(page):
    page.add_init_script(COLLECT)
    console = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return console


def test_admin_change_page_scripts_run_under_the_policy(logged_in):
    page, user = logged_in("manager")
    complaint = make_complaint(user=user)
    console = watch(page)
    response = page.goto(f"/admin/complaints/complaint/{complaint.pk}/change/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Alpine.js (Unfold) and Django's select2 autocomplete widgets initialised.
    page.wait_for_function("window.Alpine !== undefined")
    expect(page.locator(".select2-container").first).to_be_visible()
    # Opening an autocomplete runs its script and fetches from this site.
    page.locator(".select2-container").first.click()
    expect(page.locator(".select2-search__field").first).to_be_visible()
    assert page.evaluate("window.__csp") == []
    assert console == []


def test_api_docs_render_under_the_policy(logged_in):
    page, _user = logged_in("manager")
    console = watch(page)
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Redress API")
    assert page.evaluate("window.__csp") == []
    assert console == []
