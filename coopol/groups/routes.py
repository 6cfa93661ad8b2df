from flask import Blueprint

bp = Blueprint("groups", __name__, template_folder="templates")


@bp.get("/groups")
def index():
    return ""
