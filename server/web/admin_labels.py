"""Vietnamese labels of the codes the admin console shows (the office's are in ``labels``)."""

SERVICE_UNITS = {"person": "Từng người", "household": "Cả hộ"}
SKILLS = {
    "1": "1 – Dịch vụ công trực tuyến",
    "2": "2 – Mua bán trực tuyến",
    "3": "3 – Thanh toán trực tuyến",
    "4": "4 – Tự bảo vệ trên mạng",
    "5": "5 – Nền tảng số khác của địa phương",
    "all": "Cả năm kỹ năng",
}
COMMUNE_KINDS = {"xa": "Xã", "phuong": "Phường", "dac_khu": "Đặc khu"}
ENTITIES = {"commune": "Xã", "hamlet": "Ấp", "team": "Tổ", "user": "Tài khoản", "service": "Dịch vụ",
            "target": "Chỉ tiêu", "campaign": "Chiến dịch", "api_key": "Khóa API"}
ACTIONS = {
    "commune.create": "Thêm xã",
    "commune.close": "Đóng xã",
    "hamlet.create": "Thêm ấp",
    "hamlet.update": "Sửa ấp",
    "hamlet.close": "Đóng ấp",
    "hamlet.boundary": "Tải ranh giới ấp",
    "hamlet.boundary.clear": "Xóa ranh giới ấp",
    "team.create": "Thêm tổ",
    "team.rename": "Đổi tên tổ",
    "team.hamlets": "Giao ấp cho tổ",
    "user.create": "Tạo tài khoản",
    "user.password": "Đặt lại mật khẩu",
    "user.deactivate": "Khóa tài khoản",
    "user.reactivate": "Mở lại tài khoản",
    "service.create": "Thêm dịch vụ",
    "service.update": "Sửa dịch vụ",
    "service.retire": "Ngừng dịch vụ",
    "service.restore": "Dùng lại dịch vụ",
    "target.create": "Thêm chỉ tiêu",
    "target.update": "Sửa chỉ tiêu",
    "campaign.create": "Thêm chiến dịch",
    "campaign.update": "Sửa chiến dịch",
    "apikey.create": "Tạo khóa API",
    "apikey.revoke": "Thu hồi khóa API",
}


def indicator(name, services):
    """``households_reached``, ``adults_with_CKS``… in words; ``services``: {code: label}."""
    if name == "households_reached":
        return "Tỷ lệ hộ đã được tiếp cận"
    for prefix, words in (("adults_with_", "Tỷ lệ người từ 18 tuổi có"),
                          ("people_15_with_", "Tỷ lệ người từ 15 tuổi có")):
        if name.startswith(prefix):
            code = name[len(prefix):]
            return f"{words}: {services.get(code, code)}"
    return name
