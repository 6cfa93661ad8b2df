"""The idea page carries the moderation tools: a report link for others, and for moderators the
number of votes that came from accounts younger than 24 h (the astroturfing signal)."""


def test_member_sees_report_links_on_others_idea_and_comment_but_not_on_own(
        client, auth, community, create_idea, create_comment):
    idea_id = create_idea("author")
    comment_id = create_comment("rosa", idea_id)
    auth.login("jean")
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert f'data-testid="report-idea-{idea_id}"' in page
    assert f'data-testid="report-comment-{comment_id}"' in page
    assert "new-account-votes" not in page

    auth.logout()
    auth.login("author")
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert f'data-testid="report-idea-{idea_id}"' not in page
    assert f'data-testid="report-comment-{comment_id}"' in page


def test_moderator_sees_votes_from_new_accounts(client, auth, community, create_idea):
    idea_id = create_idea("author")
    for handle in ("rosa", "jean"):
        response = client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=community[handle])
        assert response.status_code == 200, response.json
    auth.login("modmarie")
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert "2 votes from accounts younger than 24 h" in page
