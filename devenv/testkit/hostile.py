"""Text an attacker would type into any field: markup, SQL, template syntax, format and escape
characters, and Unicode that reorders what a reader sees. Whatever stores it must hand it back
unchanged and render it inert."""

HOSTILE = [
    "<script>alert('x')</script>",
    "'; DROP TABLE projects_project; --",
    'Robert"); DELETE FROM accounts_user WHERE ("1"="1',
    "{{ request }} {% now 'Y' %} ${7*7}",
    "100% _under_ \\back\\slash",
    "Ünïcødé — 数据 🚀 \u202eevil",
]
