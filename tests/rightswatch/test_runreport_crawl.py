"""The run report says what a crawl could not see, which robots.txt policy applied, and waits."""

from __future__ import annotations

from rightswatch.runreport import crawl_policy_lines


def test_policy_notes_and_waits_are_listed_per_platform() -> None:
    crawl = {
        "platforms": {
            "civitai": {
                "error": None,
                "notes": ["civitai: mature content ... was not visible: no CIVITAI_TOKEN"],
                "robots": [
                    {
                        "host": "civitai.com",
                        "robots_url": "https://civitai.com/robots.txt",
                        "status": None,
                        "sha256": None,
                        "api_access": "api-terms",
                        "pages": "obey",
                        "rules": "not fetched (API requests follow the platform's API terms)",
                    }
                ],
                "waits": [
                    {"host": "civitai.com", "kind": "pause", "seconds": 300, "reason": "HTTP 429"}
                ],
            },
            "hf": {"error": "platform 'hf': nothing was crawled; set api_access = \"api-terms\""},
        }
    }
    text = "\n".join(crawl_policy_lines(crawl))
    assert "## Crawl of civitai" in text and "mature content" in text
    assert "API requests follow api-terms" in text and "robots.txt: not fetched" in text
    assert "civitai.com paused 300 s (HTTP 429)" in text
    assert "**not crawled**: platform 'hf'" in text and 'api_access = "api-terms"' in text
    assert crawl_policy_lines({}) == []
