# layerkit's pytest plugin: --layerkit-backend and the `backend` fixture
pytest_plugins = ["layerkit.testing.plugin"]
