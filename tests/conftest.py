pytest_plugins = ["layerkit.testing.plugin"]
